// The env-name rule shared by the CLI and the action: a credential may hand a job a value, never steer
// what the runner, the shell or a later program runs, loads, trusts or connects through.
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../../client/credentials.ts';
import { envNameProblem, envVarsFor } from '../../../client/env.ts';
import { blankVariables, planExports } from '../../../action/src/export.ts';
import { allTypesResponse } from '../../helpers/fake-broker.ts';

const REFUSED = 'the name is reserved for the runner or the shell';

// By class: each line is one way a variable makes a later program run or trust something else.
const STEERING = [
  // the finding
  'GIT_SSH_COMMAND', 'GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0', 'GIT_CONFIG_GLOBAL', 'GIT_ASKPASS', 'GIT_EXEC_PATH', 'GIT_PROXY_COMMAND', 'GIT_SSL_NO_VERIFY', 'GIT_DIR',
  'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'RES_OPTIONS', 'ELIXIR_ERL_OPTIONS', 'SOME_TOOL_OPTIONS',
  'PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PERL5DB', 'RUBYOPT', 'RUBYLIB', 'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONHOME', 'PYTHONBREAKPOINT', 'PYTHONWARNINGS',
  'NODE_OPTIONS', 'NODE_PATH', 'NODE_EXTRA_CA_CERTS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'NODE_USE_ENV_PROXY', 'NODE_CHANNEL_FD', 'NODE_ENV',
  'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'FTP_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'Https_Proxy', 'GOPROXY',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CURL_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'AWS_CA_BUNDLE', 'GIT_SSL_CAINFO', 'PIP_CERT', 'DENO_CERT', 'DENO_TLS_CA_STORE', 'HTTPLIB2_CA_CERTS', 'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH', 'MY_TOOL_CAFILE', 'X_CA', 'PGSSL_CA_CERT',
  'PROMPT_COMMAND', 'PROMPT_DIRTRIM', 'PS1', 'PS4',
  // the loader, the shells, the C library
  'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'LD_BIND_NOW', 'ld_preload', 'DYLD_INSERT_LIBRARIES', 'DYLD_FRAMEWORK_PATH', 'GLIBC_TUNABLES', 'GCONV_PATH', 'LOCPATH', 'NLSPATH', 'MALLOC_CHECK_', 'HOSTALIASES',
  'BASH_ENV', 'BASH_FUNC_x', 'BASHOPTS', 'BASH_XTRACEFD', 'BASH_LOADABLES_PATH', 'ENV', 'env', 'IFS', 'SHELLOPTS', 'CDPATH', 'ZDOTDIR', 'FPATH', 'GLOBIGNORE', 'EXECIGNORE', 'HISTFILE', 'INPUTRC', 'POSIXLY_CORRECT', 'SHELL', 'CONFIG_SHELL',
  'LANG', 'LC_ALL', 'LC_CTYPE', 'LANGUAGE', 'TZ', 'TERM', 'TERMINFO', 'UID', 'EUID', 'PPID', 'PWD', 'OPTIND',
  // the process's surroundings
  'PATH', 'Path', 'PATHEXT', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'EDITOR', 'VISUAL', 'PAGER', 'MANPAGER', 'GIT_PAGER', 'BROWSER', 'LESSOPEN', 'LESS', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'SUDO_ASKPASS', 'SSH_ASKPASS', 'SSH_AUTH_SOCK', 'GNUPGHOME', 'GPG_AGENT_INFO', 'COMSPEC', 'SYSTEMROOT', 'USERPROFILE', 'APPDATA',
  // build tools and language runtimes
  'MAVEN_OPTS', 'GRADLE_OPTS', 'GRADLE_USER_HOME', 'JAVA_HOME', 'JAVA_OPTS', 'SBT_OPTS', 'ANT_OPTS', 'CLASSPATH', 'DOTNET_STARTUP_HOOKS', 'DOTNET_ROOT', 'COMPlus_EnableDiagnostics', 'CORECLR_PROFILER', 'CORECLR_PROFILER_PATH', 'COR_PROFILER',
  'GEM_HOME', 'GEM_PATH', 'BUNDLE_GEMFILE', 'GOFLAGS', 'GOPATH', 'GOROOT', 'GOTOOLCHAIN', 'GONOSUMDB', 'GOPRIVATE', 'GOINSECURE', 'CGO_LDFLAGS', 'CARGO_HOME', 'CARGO_BUILD_RUSTC_WRAPPER', 'RUSTC_WRAPPER', 'RUSTFLAGS', 'RUSTDOCFLAGS', 'RUSTUP_TOOLCHAIN',
  'NPM_CONFIG_USERCONFIG', 'npm_config_script_shell', 'NPM_CONFIG_CAFILE', 'YARN_RC_FILENAME', 'YARN_ENABLE_SCRIPTS', 'COREPACK_NPM_REGISTRY', 'PIP_INDEX_URL', 'PIP_CONFIG_FILE', 'UV_INDEX_URL', 'VIRTUAL_ENV',
  'CC', 'CXX', 'LD', 'CFLAGS', 'LDFLAGS', 'MAKEFLAGS', 'MAKEFILES', 'CMAKE_TOOLCHAIN_FILE', 'PKG_CONFIG', 'PKG_CONFIG_PATH', 'OPENSSL_CONF', 'OPENSSL_MODULES', 'CURL_HOME', 'WGETRC', 'NETRC',
  // tools whose config can run commands or redirect credentials
  'KUBECONFIG', 'DOCKER_CONFIG', 'DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_EC2_METADATA_SERVICE_ENDPOINT', 'CLOUDSDK_CONFIG', 'CLOUDSDK_PYTHON', 'BOTO_CONFIG', 'AZURE_CONFIG_DIR', 'GH_HOST', 'GH_REPO', 'GH_CONFIG_DIR', 'TF_CLI_ARGS', 'TF_CLI_ARGS_apply', 'TF_CLI_CONFIG_FILE', 'TF_PLUGIN_CACHE_DIR',
  // the runners
  'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_TOKEN', 'github_output', 'RUNNER_TEMP', 'ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_RUNTIME_TOKEN', 'INPUT_ROLE', 'STATE_REQUEST_ID', 'CI', 'CI_JOB_TOKEN', 'GITLAB_CI', 'FF_USE_FASTZIP',
];

// Names a credential is for: the broker's own, libpq's (a postgres grant), and common secret names.
const ALLOWED = [
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AZURE_ACCESS_TOKEN', 'GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN', 'GH_TOKEN',
  'PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'PGPASSFILE', 'PGSERVICE', 'PGSERVICEFILE', 'PGOPTIONS', 'PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY', 'PGAPPNAME', 'PGCONNECT_TIMEOUT', 'PGSYSCONFDIR',
  'DATABASE_URL', 'API_KEY', 'DEPLOY_KEY', 'TLS_KEY', 'SA_JSON', 'NPM_TOKEN', 'NODE_AUTH_TOKEN', 'CARGO_REGISTRY_TOKEN', 'GEM_HOST_API_KEY', 'TWINE_PASSWORD', 'DOCKER_PASSWORD', 'DOCKER_USERNAME', 'SSH_PRIVATE_KEY', 'GPG_PRIVATE_KEY', 'CA_PRIVATE_KEY', 'SENTRY_AUTH_TOKEN',
  'SLACK_WEBHOOK_URL', 'STRIPE_SECRET_KEY', 'REDIS_URL', 'TF_VAR_db_password', 'ORG_GRADLE_PROJECT_signingKey', 'GOOGLE_APPLICATION_CREDENTIALS_JSON', 'APP_DATABASE_URL', 'TOKEN', 'PASSWORD', '_x1', 'a'.repeat(255),
];

describe('env names', () => {
  it.each(STEERING)('a name that steers the runner, the shell, a program, its trust or its network is refused, in any letter case: %s', (name) => {
    expect(envNameProblem(name)).toBe(REFUSED);
    expect(envNameProblem(name.toLowerCase())).toBe(REFUSED);
    expect(envNameProblem(name.toUpperCase())).toBe(REFUSED);
  });

  it.each(ALLOWED)('a credential name stays allowed: %s', (name) => {
    expect(envNameProblem(name)).toBeUndefined();
  });

  it('every name the broker maps a credential to is allowed', () => {
    const plan = envVarsFor(allTypesResponse().credentials as Credential[]);
    expect(plan.ok, JSON.stringify(plan)).toBe(true);
  });

  it('a prefix cannot assemble a steering name, and the whole set is then refused, in the CLI and the action alike', () => {
    const secret = (env: string): Credential => ({ type: 'secret', name: 'S', env, value: 'hidden-value' });
    for (const [prefix, env] of [['LD_', 'PRELOAD'], ['NODE_', 'OPTIONS'], ['GIT_', 'SSH_COMMAND'], ['HTTPS_', 'PROXY'], ['X_', 'CA_BUNDLE'], ['MY', 'PATH']] as const) {
      const plan = envVarsFor([secret('OK_NAME'), secret(env)], { prefix });
      expect(plan.ok, `${prefix}${env}`).toBe(false);
      const action = planExports([secret('OK_NAME'), secret(env)], { exportEnv: true, envPrefix: prefix, awsRegion: '' });
      expect(action.ok, `${prefix}${env}`).toBe(false);
      if (!action.ok) expect(action.problems.join()).not.toContain('hidden-value');
    }
  });

  it('the action never blanks a steering name read back from its state', () => {
    const exported: string[] = [];
    expect(blankVariables(['API_KEY', 'GIT_SSH_COMMAND', 'http_proxy', 'BASH_ENV'], (name) => exported.push(name))).toEqual(['API_KEY']);
    expect(exported).toEqual(['API_KEY']);
  });

  it('a value that is not well-formed Unicode (a lone surrogate) is refused: it would be written as another value', () => {
    const plan = envVarsFor([{ type: 'secret', name: 'S', env: 'K', value: 'a\ud800b' }]);
    expect(plan).toEqual({ ok: false, problems: ['"K": the value is not well-formed Unicode text'] });
    expect(envVarsFor([{ type: 'secret', name: 'S', env: 'K', value: 'emoji 🚀' }]).ok).toBe(true);
  });
});
