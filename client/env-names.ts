// Which names a credential may set in a job's environment. A credential hands a job a value; it must never
// steer what the runner, the shell or the next program runs, loads, trusts or talks to. Rather than chase
// single names, whole families are refused: by what a name ends in (the kind of setting: *_OPTIONS, *PATH,
// *_PROXY, ...), what it starts with (the tool it configures: GIT_, NODE_, PYTHON...), plus a short list of
// single words. Names are compared upper-cased, since Windows runners and many tools (http_proxy) do not
// care about case. The names the broker itself maps and libpq's connection settings are allowed first.

/** POSIX-portable names: what every shell, SDK and dotenv parser accepts. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/** Names set on purpose: the cloud SDK names of client/env.ts, and libpq's (a postgres grant's PGHOST, ...). */
const ALLOWED = new Set([
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION',
  'AZURE_ACCESS_TOKEN', 'GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_AUTH_ACCESS_TOKEN', 'GH_TOKEN',
  // Registry tokens under a refused prefix, read as credentials only (.npmrc's ${NODE_AUTH_TOKEN}, cargo, gem, yarn).
  'NODE_AUTH_TOKEN', 'CARGO_REGISTRY_TOKEN', 'GEM_HOST_API_KEY', 'YARN_NPM_AUTH_TOKEN',
  // https://www.postgresql.org/docs/current/libpq-envars.html: connection settings only, no code.
  'PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'PGPASSFILE', 'PGREQUIREAUTH',
  'PGCHANNELBINDING', 'PGSERVICE', 'PGSERVICEFILE', 'PGOPTIONS', 'PGAPPNAME', 'PGSSLMODE', 'PGREQUIRESSL',
  'PGSSLNEGOTIATION', 'PGSSLCOMPRESSION', 'PGSSLCERT', 'PGSSLKEY', 'PGSSLCERTMODE', 'PGSSLROOTCERT', 'PGSSLCRL',
  'PGSSLCRLDIR', 'PGSSLSNI', 'PGREQUIREPEER', 'PGSSLMINPROTOCOLVERSION', 'PGSSLMAXPROTOCOLVERSION',
  'PGGSSENCMODE', 'PGKRBSRVNAME', 'PGGSSLIB', 'PGGSSDELEGATION', 'PGCONNECT_TIMEOUT', 'PGCLIENTENCODING',
  'PGTARGETSESSIONATTRS', 'PGLOADBALANCEHOSTS', 'PGMINPROTOCOLVERSION', 'PGMAXPROTOCOLVERSION', 'PGDATESTYLE',
  'PGTZ', 'PGGEQO', 'PGSYSCONFDIR', 'PGLOCALEDIR',
]);

/** The kind of setting, by the end of the name: options, flags, search paths, programs to run, config files, proxies. */
const STEERING_SUFFIXES = [
  'OPTIONS', 'OPTS', 'FLAGS', 'ARGS', 'PATH', 'HOME', 'DIR', 'DIRS', 'CONFIG', 'CONF', '_RC', 'FILE', 'FILENAME',
  'PROXY', 'COMMAND', 'CMD', 'SHELL', 'EDITOR', 'VISUAL', 'PAGER', 'BROWSER', 'ASKPASS', 'PRELOAD', 'WRAPPER',
  'LIB', 'LIBS', 'STARTUP', 'IGNORE', 'EXEC', 'EXECUTABLE', 'BIN', 'BINARY', 'PROGRAM', 'INTERPRETER', '_SSH',
  '_PYTHON', '_NODE', '_RUBY', '_PERL', 'TLS_VERIFY', 'SSL_VERIFY', 'NO_VERIFY',
];

/** The tool or layer a name configures, by its start. Each of these can make a later program run other code. */
const STEERING_PREFIXES = [
  // the CI runners
  'GITHUB_', 'RUNNER_', 'ACTIONS_', 'INPUT_', 'STATE_', 'CI_', 'GITLAB_', 'FF_',
  // the dynamic loader, the shells, the C library
  'LD_', 'DYLD_', 'BASH', 'ZSH', 'KSH_', 'PROMPT_', 'LC_', 'GLIBC_', 'MALLOC_', 'GCONV_', 'TERMINFO', 'XDG_',
  'SUDO_', 'SYSTEMD_',
  // version control, gpg
  'GIT_', 'GNUPG', 'SVN_',
  // language runtimes and package managers
  'NODE_', 'NPM_CONFIG_', 'YARN_', 'COREPACK_', 'BUN_CONFIG_', 'PYTHON', 'PIP_', 'PIPX_', 'UV_', 'VIRTUAL_ENV',
  'PERL', 'RUBY', 'GEM_', 'BUNDLE_', 'JAVA_', '_JAVA_', 'JDK_', 'MAVEN_', 'GRADLE_', 'SBT_', 'DOTNET_',
  'COMPLUS_', 'CORECLR_', 'COR_', 'CARGO_', 'RUSTUP_', 'RUSTC', 'RUSTDOC', 'CGO_', 'CMAKE_', 'TF_CLI_',
  'PKG_CONFIG', 'ERL_', 'ELIXIR_', 'LUA_', 'PHP_', 'COMPOSER_', 'DENO_TLS_',
  // TLS trust and transport
  'SSL_', 'OPENSSL_', 'CURL_', 'DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS',
  // credential sources that run commands or redirect where an SDK looks
  'AWS_ENDPOINT_URL', 'AWS_CONTAINER_', 'AWS_EC2_METADATA_', 'AWS_PROFILE', 'AWS_SDK_', 'CLOUDSDK_PYTHON', 'GH_HOST', 'GH_REPO',
];

/** Single names, mostly shell and process state, that no family above covers. */
const STEERING_NAMES = new Set([
  'ENV', 'IFS', 'PS0', 'PS1', 'PS2', 'PS3', 'PS4', 'CDPATH', 'SHELLOPTS', 'POSIXLY_CORRECT', 'OPTIND', 'OPTARG',
  'OPTERR', 'MAIL', 'MAILCHECK', 'TMOUT', 'TIMEFORMAT', 'FUNCNEST', 'COPROC', 'SHLVL', 'PWD', 'OLDPWD', 'USER',
  'LOGNAME', 'UID', 'EUID', 'PPID', 'GROUPS', 'HOSTNAME', 'RANDOM', 'SRANDOM', 'SECONDS', 'LINENO', 'REPLY',
  'COLUMNS', 'LINES', 'TMP', 'TEMP', 'TERM', 'TERMCAP', 'LANG', 'LANGUAGE', 'TZ', 'NLSPATH', 'HOSTALIASES',
  'LOCALDOMAIN', 'INPUTRC', 'WGETRC', 'NETRC', 'MANOPT', 'CI', 'HISTSIZE', 'HISTCONTROL', 'HISTTIMEFORMAT',
  'HISTCMD', 'HISTCHARS', 'PROMPT', 'RPROMPT', 'LESS', 'LESSOPEN', 'LESSCLOSE', 'LESSKEY', 'LESSSECURE',
  'LESSCHARSET', 'LESSEDIT', 'MAKE', 'MAKEFILES', 'MAKELEVEL', 'MAKEOVERRIDES', 'SSH_AUTH_SOCK', 'SSH_AGENT_PID',
  'SSH_ASKPASS_REQUIRE', 'GPG_AGENT_INFO', 'GPG_TTY', 'CC', 'CXX', 'CPP', 'LD', 'AR',
  'AS', 'NM', 'RANLIB', 'STRIP', 'OBJCOPY', 'OBJDUMP', 'CLASSPATH', 'COMSPEC', 'PATHEXT', 'SYSTEMROOT',
  'WINDIR', 'APPDATA', 'LOCALAPPDATA', 'USERPROFILE', 'PROGRAMDATA', 'PROGRAMFILES', '__COMPAT_LAYER',
  'DENO_CERT', 'PIP_CERT', 'NODE', 'PYTHON', 'RUBY', 'PERL',
]);

/** Which certificate authorities to trust: NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, GIT_SSL_CAINFO, X_CA. */
const CA_SETTING = /(?:^|_)(?:CA(?:_(?:BUNDLE|CERTS?|FILE|PATH|DIR|INFO|STORE|ROOTS?)|$)|CAFILE|CAINFO|CAPATH|CACERTS?|CABUNDLE|ROOT_CERTS?|TRUSTSTORE|TRUST_STORE)(?:_|$)/;

/** Go's settings are single words (GOFLAGS, GOPROXY, GONOSUMDB, GOTOOLCHAIN, ...); GOOGLE_* is not one. */
const GO_SETTING = /^GO[A-Z0-9]*$/;

/** Why `name` cannot be an environment variable name, or undefined when it can. Never echoes a value. */
export function envNameProblem(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.includes('=')) return 'the name contains "="';
  if (/[\0\r\n]/.test(name)) return 'the name contains NUL, CR or LF';
  if (!ENV_NAME.test(name)) return 'the name must match [A-Za-z_][A-Za-z0-9_]* (at most 255 characters)';
  if (steersExecution(name)) return 'the name is reserved for the runner or the shell';
  return undefined;
}

function steersExecution(name: string): boolean {
  const upper = name.toUpperCase();
  if (ALLOWED.has(upper)) return false;
  return (
    STEERING_NAMES.has(upper) ||
    STEERING_SUFFIXES.some((s) => upper.endsWith(s)) ||
    STEERING_PREFIXES.some((p) => upper.startsWith(p)) ||
    CA_SETTING.test(upper) ||
    GO_SETTING.test(upper)
  );
}

/** For error messages: the name, escaped so that a hostile name cannot forge log lines or commands. */
export function printableName(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
}
