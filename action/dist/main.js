import { createRequire as __sbCreateRequire } from 'node:module';
const require = __sbCreateRequire(import.meta.url);
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __require = /* @__PURE__ */ ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, {
  get: (a, b) => (typeof require !== "undefined" ? require : a)[b]
}) : x)(function(x) {
  if (typeof require !== "undefined") return require.apply(this, arguments);
  throw Error('Dynamic require of "' + x + '" is not supported');
});
var __commonJS = (cb, mod) => function __require2() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// node_modules/tunnel/lib/tunnel.js
var require_tunnel = __commonJS({
  "node_modules/tunnel/lib/tunnel.js"(exports) {
    "use strict";
    var net = __require("net");
    var tls = __require("tls");
    var http2 = __require("http");
    var https2 = __require("https");
    var events = __require("events");
    var assert = __require("assert");
    var util = __require("util");
    exports.httpOverHttp = httpOverHttp2;
    exports.httpsOverHttp = httpsOverHttp2;
    exports.httpOverHttps = httpOverHttps2;
    exports.httpsOverHttps = httpsOverHttps2;
    function httpOverHttp2(options) {
      var agent = new TunnelingAgent(options);
      agent.request = http2.request;
      return agent;
    }
    function httpsOverHttp2(options) {
      var agent = new TunnelingAgent(options);
      agent.request = http2.request;
      agent.createSocket = createSecureSocket;
      agent.defaultPort = 443;
      return agent;
    }
    function httpOverHttps2(options) {
      var agent = new TunnelingAgent(options);
      agent.request = https2.request;
      return agent;
    }
    function httpsOverHttps2(options) {
      var agent = new TunnelingAgent(options);
      agent.request = https2.request;
      agent.createSocket = createSecureSocket;
      agent.defaultPort = 443;
      return agent;
    }
    function TunnelingAgent(options) {
      var self = this;
      self.options = options || {};
      self.proxyOptions = self.options.proxy || {};
      self.maxSockets = self.options.maxSockets || http2.Agent.defaultMaxSockets;
      self.requests = [];
      self.sockets = [];
      self.on("free", function onFree(socket, host, port, localAddress) {
        var options2 = toOptions(host, port, localAddress);
        for (var i = 0, len = self.requests.length; i < len; ++i) {
          var pending = self.requests[i];
          if (pending.host === options2.host && pending.port === options2.port) {
            self.requests.splice(i, 1);
            pending.request.onSocket(socket);
            return;
          }
        }
        socket.destroy();
        self.removeSocket(socket);
      });
    }
    util.inherits(TunnelingAgent, events.EventEmitter);
    TunnelingAgent.prototype.addRequest = function addRequest(req, host, port, localAddress) {
      var self = this;
      var options = mergeOptions({ request: req }, self.options, toOptions(host, port, localAddress));
      if (self.sockets.length >= this.maxSockets) {
        self.requests.push(options);
        return;
      }
      self.createSocket(options, function(socket) {
        socket.on("free", onFree);
        socket.on("close", onCloseOrRemove);
        socket.on("agentRemove", onCloseOrRemove);
        req.onSocket(socket);
        function onFree() {
          self.emit("free", socket, options);
        }
        function onCloseOrRemove(err) {
          self.removeSocket(socket);
          socket.removeListener("free", onFree);
          socket.removeListener("close", onCloseOrRemove);
          socket.removeListener("agentRemove", onCloseOrRemove);
        }
      });
    };
    TunnelingAgent.prototype.createSocket = function createSocket(options, cb) {
      var self = this;
      var placeholder = {};
      self.sockets.push(placeholder);
      var connectOptions = mergeOptions({}, self.proxyOptions, {
        method: "CONNECT",
        path: options.host + ":" + options.port,
        agent: false,
        headers: {
          host: options.host + ":" + options.port
        }
      });
      if (options.localAddress) {
        connectOptions.localAddress = options.localAddress;
      }
      if (connectOptions.proxyAuth) {
        connectOptions.headers = connectOptions.headers || {};
        connectOptions.headers["Proxy-Authorization"] = "Basic " + new Buffer(connectOptions.proxyAuth).toString("base64");
      }
      debug2("making CONNECT request");
      var connectReq = self.request(connectOptions);
      connectReq.useChunkedEncodingByDefault = false;
      connectReq.once("response", onResponse);
      connectReq.once("upgrade", onUpgrade);
      connectReq.once("connect", onConnect);
      connectReq.once("error", onError);
      connectReq.end();
      function onResponse(res) {
        res.upgrade = true;
      }
      function onUpgrade(res, socket, head) {
        process.nextTick(function() {
          onConnect(res, socket, head);
        });
      }
      function onConnect(res, socket, head) {
        connectReq.removeAllListeners();
        socket.removeAllListeners();
        if (res.statusCode !== 200) {
          debug2(
            "tunneling socket could not be established, statusCode=%d",
            res.statusCode
          );
          socket.destroy();
          var error2 = new Error("tunneling socket could not be established, statusCode=" + res.statusCode);
          error2.code = "ECONNRESET";
          options.request.emit("error", error2);
          self.removeSocket(placeholder);
          return;
        }
        if (head.length > 0) {
          debug2("got illegal response body from proxy");
          socket.destroy();
          var error2 = new Error("got illegal response body from proxy");
          error2.code = "ECONNRESET";
          options.request.emit("error", error2);
          self.removeSocket(placeholder);
          return;
        }
        debug2("tunneling connection has established");
        self.sockets[self.sockets.indexOf(placeholder)] = socket;
        return cb(socket);
      }
      function onError(cause) {
        connectReq.removeAllListeners();
        debug2(
          "tunneling socket could not be established, cause=%s\n",
          cause.message,
          cause.stack
        );
        var error2 = new Error("tunneling socket could not be established, cause=" + cause.message);
        error2.code = "ECONNRESET";
        options.request.emit("error", error2);
        self.removeSocket(placeholder);
      }
    };
    TunnelingAgent.prototype.removeSocket = function removeSocket(socket) {
      var pos = this.sockets.indexOf(socket);
      if (pos === -1) {
        return;
      }
      this.sockets.splice(pos, 1);
      var pending = this.requests.shift();
      if (pending) {
        this.createSocket(pending, function(socket2) {
          pending.request.onSocket(socket2);
        });
      }
    };
    function createSecureSocket(options, cb) {
      var self = this;
      TunnelingAgent.prototype.createSocket.call(self, options, function(socket) {
        var hostHeader = options.request.getHeader("host");
        var tlsOptions = mergeOptions({}, self.options, {
          socket,
          servername: hostHeader ? hostHeader.replace(/:.*$/, "") : options.host
        });
        var secureSocket = tls.connect(0, tlsOptions);
        self.sockets[self.sockets.indexOf(socket)] = secureSocket;
        cb(secureSocket);
      });
    }
    function toOptions(host, port, localAddress) {
      if (typeof host === "string") {
        return {
          host,
          port,
          localAddress
        };
      }
      return host;
    }
    function mergeOptions(target) {
      for (var i = 1, len = arguments.length; i < len; ++i) {
        var overrides = arguments[i];
        if (typeof overrides === "object") {
          var keys = Object.keys(overrides);
          for (var j = 0, keyLen = keys.length; j < keyLen; ++j) {
            var k = keys[j];
            if (overrides[k] !== void 0) {
              target[k] = overrides[k];
            }
          }
        }
      }
      return target;
    }
    var debug2;
    if (process.env.NODE_DEBUG && /\btunnel\b/.test(process.env.NODE_DEBUG)) {
      debug2 = function() {
        var args = Array.prototype.slice.call(arguments);
        if (typeof args[0] === "string") {
          args[0] = "TUNNEL: " + args[0];
        } else {
          args.unshift("TUNNEL:");
        }
        console.error.apply(console, args);
      };
    } else {
      debug2 = function() {
      };
    }
    exports.debug = debug2;
  }
});

// node_modules/tunnel/index.js
var require_tunnel2 = __commonJS({
  "node_modules/tunnel/index.js"(exports, module) {
    module.exports = require_tunnel();
  }
});

// node_modules/@actions/core/lib/command.js
import * as os from "os";

// node_modules/@actions/core/lib/utils.js
function toCommandValue(input) {
  if (input === null || input === void 0) {
    return "";
  } else if (typeof input === "string" || input instanceof String) {
    return input;
  }
  return JSON.stringify(input);
}
function toCommandProperties(annotationProperties) {
  if (!Object.keys(annotationProperties).length) {
    return {};
  }
  return {
    title: annotationProperties.title,
    file: annotationProperties.file,
    line: annotationProperties.startLine,
    endLine: annotationProperties.endLine,
    col: annotationProperties.startColumn,
    endColumn: annotationProperties.endColumn
  };
}

// node_modules/@actions/core/lib/command.js
function issueCommand(command, properties, message) {
  const cmd = new Command(command, properties, message);
  process.stdout.write(cmd.toString() + os.EOL);
}
var CMD_STRING = "::";
var Command = class {
  constructor(command, properties, message) {
    if (!command) {
      command = "missing.command";
    }
    this.command = command;
    this.properties = properties;
    this.message = message;
  }
  toString() {
    let cmdStr = CMD_STRING + this.command;
    if (this.properties && Object.keys(this.properties).length > 0) {
      cmdStr += " ";
      let first = true;
      for (const key in this.properties) {
        if (this.properties.hasOwnProperty(key)) {
          const val = this.properties[key];
          if (val) {
            if (first) {
              first = false;
            } else {
              cmdStr += ",";
            }
            cmdStr += `${key}=${escapeProperty(val)}`;
          }
        }
      }
    }
    cmdStr += `${CMD_STRING}${escapeData(this.message)}`;
    return cmdStr;
  }
};
function escapeData(s) {
  return toCommandValue(s).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function escapeProperty(s) {
  return toCommandValue(s).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/:/g, "%3A").replace(/,/g, "%2C");
}

// node_modules/@actions/core/lib/file-command.js
import * as crypto from "crypto";
import * as fs from "fs";
import * as os2 from "os";
function issueFileCommand(command, message) {
  const filePath = process.env[`GITHUB_${command}`];
  if (!filePath) {
    throw new Error(`Unable to find environment variable for file command ${command}`);
  }
  if (!fs.existsSync(filePath)) {
    throw new Error(`Missing file at path: ${filePath}`);
  }
  fs.appendFileSync(filePath, `${toCommandValue(message)}${os2.EOL}`, {
    encoding: "utf8"
  });
}
function prepareKeyValueMessage(key, value) {
  const delimiter = `ghadelimiter_${crypto.randomUUID()}`;
  const convertedValue = toCommandValue(value);
  if (key.includes(delimiter)) {
    throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`);
  }
  if (convertedValue.includes(delimiter)) {
    throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`);
  }
  return `${key}<<${delimiter}${os2.EOL}${convertedValue}${os2.EOL}${delimiter}`;
}

// node_modules/@actions/core/lib/core.js
import * as os4 from "os";

// node_modules/@actions/http-client/lib/index.js
import * as http from "http";
import * as https from "https";

// node_modules/@actions/http-client/lib/proxy.js
function getProxyUrl(reqUrl) {
  const usingSsl = reqUrl.protocol === "https:";
  if (checkBypass(reqUrl)) {
    return void 0;
  }
  const proxyVar = (() => {
    if (usingSsl) {
      return process.env["https_proxy"] || process.env["HTTPS_PROXY"];
    } else {
      return process.env["http_proxy"] || process.env["HTTP_PROXY"];
    }
  })();
  if (proxyVar) {
    try {
      return new DecodedURL(proxyVar);
    } catch (_a) {
      if (!proxyVar.startsWith("http://") && !proxyVar.startsWith("https://"))
        return new DecodedURL(`http://${proxyVar}`);
    }
  } else {
    return void 0;
  }
}
function checkBypass(reqUrl) {
  if (!reqUrl.hostname) {
    return false;
  }
  const reqHost = reqUrl.hostname;
  if (isLoopbackAddress(reqHost)) {
    return true;
  }
  const noProxy = process.env["no_proxy"] || process.env["NO_PROXY"] || "";
  if (!noProxy) {
    return false;
  }
  let reqPort;
  if (reqUrl.port) {
    reqPort = Number(reqUrl.port);
  } else if (reqUrl.protocol === "http:") {
    reqPort = 80;
  } else if (reqUrl.protocol === "https:") {
    reqPort = 443;
  }
  const upperReqHosts = [reqUrl.hostname.toUpperCase()];
  if (typeof reqPort === "number") {
    upperReqHosts.push(`${upperReqHosts[0]}:${reqPort}`);
  }
  for (const upperNoProxyItem of noProxy.split(",").map((x) => x.trim().toUpperCase()).filter((x) => x)) {
    if (upperNoProxyItem === "*" || upperReqHosts.some((x) => x === upperNoProxyItem || x.endsWith(`.${upperNoProxyItem}`) || upperNoProxyItem.startsWith(".") && x.endsWith(`${upperNoProxyItem}`))) {
      return true;
    }
  }
  return false;
}
function isLoopbackAddress(host) {
  const hostLower = host.toLowerCase();
  return hostLower === "localhost" || hostLower.startsWith("127.") || hostLower.startsWith("[::1]") || hostLower.startsWith("[0:0:0:0:0:0:0:1]");
}
var DecodedURL = class extends URL {
  constructor(url, base) {
    super(url, base);
    this._decodedUsername = decodeURIComponent(super.username);
    this._decodedPassword = decodeURIComponent(super.password);
  }
  get username() {
    return this._decodedUsername;
  }
  get password() {
    return this._decodedPassword;
  }
};

// node_modules/@actions/http-client/lib/index.js
var tunnel = __toESM(require_tunnel2(), 1);

// action/src/undici-stub.ts
var ProxyAgent = class {
  constructor() {
    throw new Error("undici is not bundled with the secret-broker action");
  }
};

// node_modules/@actions/http-client/lib/index.js
var __awaiter = function(thisArg, _arguments, P, generator) {
  function adopt(value) {
    return value instanceof P ? value : new P(function(resolve) {
      resolve(value);
    });
  }
  return new (P || (P = Promise))(function(resolve, reject) {
    function fulfilled(value) {
      try {
        step(generator.next(value));
      } catch (e) {
        reject(e);
      }
    }
    function rejected(value) {
      try {
        step(generator["throw"](value));
      } catch (e) {
        reject(e);
      }
    }
    function step(result) {
      result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected);
    }
    step((generator = generator.apply(thisArg, _arguments || [])).next());
  });
};
var HttpCodes;
(function(HttpCodes2) {
  HttpCodes2[HttpCodes2["OK"] = 200] = "OK";
  HttpCodes2[HttpCodes2["MultipleChoices"] = 300] = "MultipleChoices";
  HttpCodes2[HttpCodes2["MovedPermanently"] = 301] = "MovedPermanently";
  HttpCodes2[HttpCodes2["ResourceMoved"] = 302] = "ResourceMoved";
  HttpCodes2[HttpCodes2["SeeOther"] = 303] = "SeeOther";
  HttpCodes2[HttpCodes2["NotModified"] = 304] = "NotModified";
  HttpCodes2[HttpCodes2["UseProxy"] = 305] = "UseProxy";
  HttpCodes2[HttpCodes2["SwitchProxy"] = 306] = "SwitchProxy";
  HttpCodes2[HttpCodes2["TemporaryRedirect"] = 307] = "TemporaryRedirect";
  HttpCodes2[HttpCodes2["PermanentRedirect"] = 308] = "PermanentRedirect";
  HttpCodes2[HttpCodes2["BadRequest"] = 400] = "BadRequest";
  HttpCodes2[HttpCodes2["Unauthorized"] = 401] = "Unauthorized";
  HttpCodes2[HttpCodes2["PaymentRequired"] = 402] = "PaymentRequired";
  HttpCodes2[HttpCodes2["Forbidden"] = 403] = "Forbidden";
  HttpCodes2[HttpCodes2["NotFound"] = 404] = "NotFound";
  HttpCodes2[HttpCodes2["MethodNotAllowed"] = 405] = "MethodNotAllowed";
  HttpCodes2[HttpCodes2["NotAcceptable"] = 406] = "NotAcceptable";
  HttpCodes2[HttpCodes2["ProxyAuthenticationRequired"] = 407] = "ProxyAuthenticationRequired";
  HttpCodes2[HttpCodes2["RequestTimeout"] = 408] = "RequestTimeout";
  HttpCodes2[HttpCodes2["Conflict"] = 409] = "Conflict";
  HttpCodes2[HttpCodes2["Gone"] = 410] = "Gone";
  HttpCodes2[HttpCodes2["TooManyRequests"] = 429] = "TooManyRequests";
  HttpCodes2[HttpCodes2["InternalServerError"] = 500] = "InternalServerError";
  HttpCodes2[HttpCodes2["NotImplemented"] = 501] = "NotImplemented";
  HttpCodes2[HttpCodes2["BadGateway"] = 502] = "BadGateway";
  HttpCodes2[HttpCodes2["ServiceUnavailable"] = 503] = "ServiceUnavailable";
  HttpCodes2[HttpCodes2["GatewayTimeout"] = 504] = "GatewayTimeout";
})(HttpCodes || (HttpCodes = {}));
var Headers;
(function(Headers2) {
  Headers2["Accept"] = "accept";
  Headers2["ContentType"] = "content-type";
})(Headers || (Headers = {}));
var MediaTypes;
(function(MediaTypes2) {
  MediaTypes2["ApplicationJson"] = "application/json";
})(MediaTypes || (MediaTypes = {}));
var HttpRedirectCodes = [
  HttpCodes.MovedPermanently,
  HttpCodes.ResourceMoved,
  HttpCodes.SeeOther,
  HttpCodes.TemporaryRedirect,
  HttpCodes.PermanentRedirect
];
var HttpResponseRetryCodes = [
  HttpCodes.BadGateway,
  HttpCodes.ServiceUnavailable,
  HttpCodes.GatewayTimeout
];
var RetryableHttpVerbs = ["OPTIONS", "GET", "DELETE", "HEAD"];
var ExponentialBackoffCeiling = 10;
var ExponentialBackoffTimeSlice = 5;
var HttpClientError = class _HttpClientError extends Error {
  constructor(message, statusCode) {
    super(message);
    this.name = "HttpClientError";
    this.statusCode = statusCode;
    Object.setPrototypeOf(this, _HttpClientError.prototype);
  }
};
var HttpClientResponse = class {
  constructor(message) {
    this.message = message;
  }
  readBody() {
    return __awaiter(this, void 0, void 0, function* () {
      return new Promise((resolve) => __awaiter(this, void 0, void 0, function* () {
        let output = Buffer.alloc(0);
        this.message.on("data", (chunk) => {
          output = Buffer.concat([output, chunk]);
        });
        this.message.on("end", () => {
          resolve(output.toString());
        });
      }));
    });
  }
  readBodyBuffer() {
    return __awaiter(this, void 0, void 0, function* () {
      return new Promise((resolve) => __awaiter(this, void 0, void 0, function* () {
        const chunks = [];
        this.message.on("data", (chunk) => {
          chunks.push(chunk);
        });
        this.message.on("end", () => {
          resolve(Buffer.concat(chunks));
        });
      }));
    });
  }
};
var HttpClient = class {
  constructor(userAgent, handlers, requestOptions) {
    this._ignoreSslError = false;
    this._allowRedirects = true;
    this._allowRedirectDowngrade = false;
    this._maxRedirects = 50;
    this._allowRetries = false;
    this._maxRetries = 1;
    this._keepAlive = false;
    this._disposed = false;
    this.userAgent = this._getUserAgentWithOrchestrationId(userAgent);
    this.handlers = handlers || [];
    this.requestOptions = requestOptions;
    if (requestOptions) {
      if (requestOptions.ignoreSslError != null) {
        this._ignoreSslError = requestOptions.ignoreSslError;
      }
      this._socketTimeout = requestOptions.socketTimeout;
      if (requestOptions.allowRedirects != null) {
        this._allowRedirects = requestOptions.allowRedirects;
      }
      if (requestOptions.allowRedirectDowngrade != null) {
        this._allowRedirectDowngrade = requestOptions.allowRedirectDowngrade;
      }
      if (requestOptions.maxRedirects != null) {
        this._maxRedirects = Math.max(requestOptions.maxRedirects, 0);
      }
      if (requestOptions.keepAlive != null) {
        this._keepAlive = requestOptions.keepAlive;
      }
      if (requestOptions.allowRetries != null) {
        this._allowRetries = requestOptions.allowRetries;
      }
      if (requestOptions.maxRetries != null) {
        this._maxRetries = requestOptions.maxRetries;
      }
    }
  }
  options(requestUrl, additionalHeaders) {
    return __awaiter(this, void 0, void 0, function* () {
      return this.request("OPTIONS", requestUrl, null, additionalHeaders || {});
    });
  }
  get(requestUrl, additionalHeaders) {
    return __awaiter(this, void 0, void 0, function* () {
      return this.request("GET", requestUrl, null, additionalHeaders || {});
    });
  }
  del(requestUrl, additionalHeaders) {
    return __awaiter(this, void 0, void 0, function* () {
      return this.request("DELETE", requestUrl, null, additionalHeaders || {});
    });
  }
  post(requestUrl, data, additionalHeaders) {
    return __awaiter(this, void 0, void 0, function* () {
      return this.request("POST", requestUrl, data, additionalHeaders || {});
    });
  }
  patch(requestUrl, data, additionalHeaders) {
    return __awaiter(this, void 0, void 0, function* () {
      return this.request("PATCH", requestUrl, data, additionalHeaders || {});
    });
  }
  put(requestUrl, data, additionalHeaders) {
    return __awaiter(this, void 0, void 0, function* () {
      return this.request("PUT", requestUrl, data, additionalHeaders || {});
    });
  }
  head(requestUrl, additionalHeaders) {
    return __awaiter(this, void 0, void 0, function* () {
      return this.request("HEAD", requestUrl, null, additionalHeaders || {});
    });
  }
  sendStream(verb, requestUrl, stream, additionalHeaders) {
    return __awaiter(this, void 0, void 0, function* () {
      return this.request(verb, requestUrl, stream, additionalHeaders);
    });
  }
  /**
   * Gets a typed object from an endpoint
   * Be aware that not found returns a null.  Other errors (4xx, 5xx) reject the promise
   */
  getJson(requestUrl_1) {
    return __awaiter(this, arguments, void 0, function* (requestUrl, additionalHeaders = {}) {
      additionalHeaders[Headers.Accept] = this._getExistingOrDefaultHeader(additionalHeaders, Headers.Accept, MediaTypes.ApplicationJson);
      const res = yield this.get(requestUrl, additionalHeaders);
      return this._processResponse(res, this.requestOptions);
    });
  }
  postJson(requestUrl_1, obj_1) {
    return __awaiter(this, arguments, void 0, function* (requestUrl, obj, additionalHeaders = {}) {
      const data = JSON.stringify(obj, null, 2);
      additionalHeaders[Headers.Accept] = this._getExistingOrDefaultHeader(additionalHeaders, Headers.Accept, MediaTypes.ApplicationJson);
      additionalHeaders[Headers.ContentType] = this._getExistingOrDefaultContentTypeHeader(additionalHeaders, MediaTypes.ApplicationJson);
      const res = yield this.post(requestUrl, data, additionalHeaders);
      return this._processResponse(res, this.requestOptions);
    });
  }
  putJson(requestUrl_1, obj_1) {
    return __awaiter(this, arguments, void 0, function* (requestUrl, obj, additionalHeaders = {}) {
      const data = JSON.stringify(obj, null, 2);
      additionalHeaders[Headers.Accept] = this._getExistingOrDefaultHeader(additionalHeaders, Headers.Accept, MediaTypes.ApplicationJson);
      additionalHeaders[Headers.ContentType] = this._getExistingOrDefaultContentTypeHeader(additionalHeaders, MediaTypes.ApplicationJson);
      const res = yield this.put(requestUrl, data, additionalHeaders);
      return this._processResponse(res, this.requestOptions);
    });
  }
  patchJson(requestUrl_1, obj_1) {
    return __awaiter(this, arguments, void 0, function* (requestUrl, obj, additionalHeaders = {}) {
      const data = JSON.stringify(obj, null, 2);
      additionalHeaders[Headers.Accept] = this._getExistingOrDefaultHeader(additionalHeaders, Headers.Accept, MediaTypes.ApplicationJson);
      additionalHeaders[Headers.ContentType] = this._getExistingOrDefaultContentTypeHeader(additionalHeaders, MediaTypes.ApplicationJson);
      const res = yield this.patch(requestUrl, data, additionalHeaders);
      return this._processResponse(res, this.requestOptions);
    });
  }
  /**
   * Makes a raw http request.
   * All other methods such as get, post, patch, and request ultimately call this.
   * Prefer get, del, post and patch
   */
  request(verb, requestUrl, data, headers) {
    return __awaiter(this, void 0, void 0, function* () {
      if (this._disposed) {
        throw new Error("Client has already been disposed.");
      }
      const parsedUrl = new URL(requestUrl);
      let info2 = this._prepareRequest(verb, parsedUrl, headers);
      const maxTries = this._allowRetries && RetryableHttpVerbs.includes(verb) ? this._maxRetries + 1 : 1;
      let numTries = 0;
      let response;
      do {
        response = yield this.requestRaw(info2, data);
        if (response && response.message && response.message.statusCode === HttpCodes.Unauthorized) {
          let authenticationHandler;
          for (const handler of this.handlers) {
            if (handler.canHandleAuthentication(response)) {
              authenticationHandler = handler;
              break;
            }
          }
          if (authenticationHandler) {
            return authenticationHandler.handleAuthentication(this, info2, data);
          } else {
            return response;
          }
        }
        let redirectsRemaining = this._maxRedirects;
        while (response.message.statusCode && HttpRedirectCodes.includes(response.message.statusCode) && this._allowRedirects && redirectsRemaining > 0) {
          const redirectUrl = response.message.headers["location"];
          if (!redirectUrl) {
            break;
          }
          const parsedRedirectUrl = new URL(redirectUrl);
          if (parsedUrl.protocol === "https:" && parsedUrl.protocol !== parsedRedirectUrl.protocol && !this._allowRedirectDowngrade) {
            throw new Error("Redirect from HTTPS to HTTP protocol. This downgrade is not allowed for security reasons. If you want to allow this behavior, set the allowRedirectDowngrade option to true.");
          }
          yield response.readBody();
          if (parsedRedirectUrl.hostname !== parsedUrl.hostname) {
            for (const header in headers) {
              if (header.toLowerCase() === "authorization") {
                delete headers[header];
              }
            }
          }
          info2 = this._prepareRequest(verb, parsedRedirectUrl, headers);
          response = yield this.requestRaw(info2, data);
          redirectsRemaining--;
        }
        if (!response.message.statusCode || !HttpResponseRetryCodes.includes(response.message.statusCode)) {
          return response;
        }
        numTries += 1;
        if (numTries < maxTries) {
          yield response.readBody();
          yield this._performExponentialBackoff(numTries);
        }
      } while (numTries < maxTries);
      return response;
    });
  }
  /**
   * Needs to be called if keepAlive is set to true in request options.
   */
  dispose() {
    if (this._agent) {
      this._agent.destroy();
    }
    this._disposed = true;
  }
  /**
   * Raw request.
   * @param info
   * @param data
   */
  requestRaw(info2, data) {
    return __awaiter(this, void 0, void 0, function* () {
      return new Promise((resolve, reject) => {
        function callbackForResult(err, res) {
          if (err) {
            reject(err);
          } else if (!res) {
            reject(new Error("Unknown error"));
          } else {
            resolve(res);
          }
        }
        this.requestRawWithCallback(info2, data, callbackForResult);
      });
    });
  }
  /**
   * Raw request with callback.
   * @param info
   * @param data
   * @param onResult
   */
  requestRawWithCallback(info2, data, onResult) {
    if (typeof data === "string") {
      if (!info2.options.headers) {
        info2.options.headers = {};
      }
      info2.options.headers["Content-Length"] = Buffer.byteLength(data, "utf8");
    }
    let callbackCalled = false;
    function handleResult(err, res) {
      if (!callbackCalled) {
        callbackCalled = true;
        onResult(err, res);
      }
    }
    const req = info2.httpModule.request(info2.options, (msg) => {
      const res = new HttpClientResponse(msg);
      handleResult(void 0, res);
    });
    let socket;
    req.on("socket", (sock) => {
      socket = sock;
    });
    req.setTimeout(this._socketTimeout || 3 * 6e4, () => {
      if (socket) {
        socket.end();
      }
      handleResult(new Error(`Request timeout: ${info2.options.path}`));
    });
    req.on("error", function(err) {
      handleResult(err);
    });
    if (data && typeof data === "string") {
      req.write(data, "utf8");
    }
    if (data && typeof data !== "string") {
      data.on("close", function() {
        req.end();
      });
      data.pipe(req);
    } else {
      req.end();
    }
  }
  /**
   * Gets an http agent. This function is useful when you need an http agent that handles
   * routing through a proxy server - depending upon the url and proxy environment variables.
   * @param serverUrl  The server URL where the request will be sent. For example, https://api.github.com
   */
  getAgent(serverUrl) {
    const parsedUrl = new URL(serverUrl);
    return this._getAgent(parsedUrl);
  }
  getAgentDispatcher(serverUrl) {
    const parsedUrl = new URL(serverUrl);
    const proxyUrl = getProxyUrl(parsedUrl);
    const useProxy = proxyUrl && proxyUrl.hostname;
    if (!useProxy) {
      return;
    }
    return this._getProxyAgentDispatcher(parsedUrl, proxyUrl);
  }
  _prepareRequest(method, requestUrl, headers) {
    const info2 = {};
    info2.parsedUrl = requestUrl;
    const usingSsl = info2.parsedUrl.protocol === "https:";
    info2.httpModule = usingSsl ? https : http;
    const defaultPort = usingSsl ? 443 : 80;
    info2.options = {};
    info2.options.host = info2.parsedUrl.hostname;
    info2.options.port = info2.parsedUrl.port ? parseInt(info2.parsedUrl.port) : defaultPort;
    info2.options.path = (info2.parsedUrl.pathname || "") + (info2.parsedUrl.search || "");
    info2.options.method = method;
    info2.options.headers = this._mergeHeaders(headers);
    if (this.userAgent != null) {
      info2.options.headers["user-agent"] = this.userAgent;
    }
    info2.options.agent = this._getAgent(info2.parsedUrl);
    if (this.handlers) {
      for (const handler of this.handlers) {
        handler.prepareRequest(info2.options);
      }
    }
    return info2;
  }
  _mergeHeaders(headers) {
    if (this.requestOptions && this.requestOptions.headers) {
      return Object.assign({}, lowercaseKeys(this.requestOptions.headers), lowercaseKeys(headers || {}));
    }
    return lowercaseKeys(headers || {});
  }
  /**
   * Gets an existing header value or returns a default.
   * Handles converting number header values to strings since HTTP headers must be strings.
   * Note: This returns string | string[] since some headers can have multiple values.
   * For headers that must always be a single string (like Content-Type), use the
   * specialized _getExistingOrDefaultContentTypeHeader method instead.
   */
  _getExistingOrDefaultHeader(additionalHeaders, header, _default) {
    let clientHeader;
    if (this.requestOptions && this.requestOptions.headers) {
      const headerValue = lowercaseKeys(this.requestOptions.headers)[header];
      if (headerValue) {
        clientHeader = typeof headerValue === "number" ? headerValue.toString() : headerValue;
      }
    }
    const additionalValue = additionalHeaders[header];
    if (additionalValue !== void 0) {
      return typeof additionalValue === "number" ? additionalValue.toString() : additionalValue;
    }
    if (clientHeader !== void 0) {
      return clientHeader;
    }
    return _default;
  }
  /**
   * Specialized version of _getExistingOrDefaultHeader for Content-Type header.
   * Always returns a single string (not an array) since Content-Type should be a single value.
   * Converts arrays to comma-separated strings and numbers to strings to ensure type safety.
   * This was split from _getExistingOrDefaultHeader to provide stricter typing for callers
   * that assign the result to places expecting a string (e.g., additionalHeaders[Headers.ContentType]).
   */
  _getExistingOrDefaultContentTypeHeader(additionalHeaders, _default) {
    let clientHeader;
    if (this.requestOptions && this.requestOptions.headers) {
      const headerValue = lowercaseKeys(this.requestOptions.headers)[Headers.ContentType];
      if (headerValue) {
        if (typeof headerValue === "number") {
          clientHeader = String(headerValue);
        } else if (Array.isArray(headerValue)) {
          clientHeader = headerValue.join(", ");
        } else {
          clientHeader = headerValue;
        }
      }
    }
    const additionalValue = additionalHeaders[Headers.ContentType];
    if (additionalValue !== void 0) {
      if (typeof additionalValue === "number") {
        return String(additionalValue);
      } else if (Array.isArray(additionalValue)) {
        return additionalValue.join(", ");
      } else {
        return additionalValue;
      }
    }
    if (clientHeader !== void 0) {
      return clientHeader;
    }
    return _default;
  }
  _getAgent(parsedUrl) {
    let agent;
    const proxyUrl = getProxyUrl(parsedUrl);
    const useProxy = proxyUrl && proxyUrl.hostname;
    if (this._keepAlive && useProxy) {
      agent = this._proxyAgent;
    }
    if (!useProxy) {
      agent = this._agent;
    }
    if (agent) {
      return agent;
    }
    const usingSsl = parsedUrl.protocol === "https:";
    let maxSockets = 100;
    if (this.requestOptions) {
      maxSockets = this.requestOptions.maxSockets || http.globalAgent.maxSockets;
    }
    if (proxyUrl && proxyUrl.hostname) {
      const agentOptions = {
        maxSockets,
        keepAlive: this._keepAlive,
        proxy: Object.assign(Object.assign({}, (proxyUrl.username || proxyUrl.password) && {
          proxyAuth: `${proxyUrl.username}:${proxyUrl.password}`
        }), { host: proxyUrl.hostname, port: proxyUrl.port })
      };
      let tunnelAgent;
      const overHttps = proxyUrl.protocol === "https:";
      if (usingSsl) {
        tunnelAgent = overHttps ? tunnel.httpsOverHttps : tunnel.httpsOverHttp;
      } else {
        tunnelAgent = overHttps ? tunnel.httpOverHttps : tunnel.httpOverHttp;
      }
      agent = tunnelAgent(agentOptions);
      this._proxyAgent = agent;
    }
    if (!agent) {
      const options = { keepAlive: this._keepAlive, maxSockets };
      agent = usingSsl ? new https.Agent(options) : new http.Agent(options);
      this._agent = agent;
    }
    if (usingSsl && this._ignoreSslError) {
      agent.options = Object.assign(agent.options || {}, {
        rejectUnauthorized: false
      });
    }
    return agent;
  }
  _getProxyAgentDispatcher(parsedUrl, proxyUrl) {
    let proxyAgent;
    if (this._keepAlive) {
      proxyAgent = this._proxyAgentDispatcher;
    }
    if (proxyAgent) {
      return proxyAgent;
    }
    const usingSsl = parsedUrl.protocol === "https:";
    proxyAgent = new ProxyAgent(Object.assign({ uri: proxyUrl.href, pipelining: !this._keepAlive ? 0 : 1 }, (proxyUrl.username || proxyUrl.password) && {
      token: `Basic ${Buffer.from(`${proxyUrl.username}:${proxyUrl.password}`).toString("base64")}`
    }));
    this._proxyAgentDispatcher = proxyAgent;
    if (usingSsl && this._ignoreSslError) {
      proxyAgent.options = Object.assign(proxyAgent.options.requestTls || {}, {
        rejectUnauthorized: false
      });
    }
    return proxyAgent;
  }
  _getUserAgentWithOrchestrationId(userAgent) {
    const baseUserAgent = userAgent || "actions/http-client";
    const orchId = process.env["ACTIONS_ORCHESTRATION_ID"];
    if (orchId) {
      const sanitizedId = orchId.replace(/[^a-z0-9_.-]/gi, "_");
      return `${baseUserAgent} actions_orchestration_id/${sanitizedId}`;
    }
    return baseUserAgent;
  }
  _performExponentialBackoff(retryNumber) {
    return __awaiter(this, void 0, void 0, function* () {
      retryNumber = Math.min(ExponentialBackoffCeiling, retryNumber);
      const ms = ExponentialBackoffTimeSlice * Math.pow(2, retryNumber);
      return new Promise((resolve) => setTimeout(() => resolve(), ms));
    });
  }
  _processResponse(res, options) {
    return __awaiter(this, void 0, void 0, function* () {
      return new Promise((resolve, reject) => __awaiter(this, void 0, void 0, function* () {
        const statusCode = res.message.statusCode || 0;
        const response = {
          statusCode,
          result: null,
          headers: {}
        };
        if (statusCode === HttpCodes.NotFound) {
          resolve(response);
        }
        function dateTimeDeserializer(key, value) {
          if (typeof value === "string") {
            const a = new Date(value);
            if (!isNaN(a.valueOf())) {
              return a;
            }
          }
          return value;
        }
        let obj;
        let contents;
        try {
          contents = yield res.readBody();
          if (contents && contents.length > 0) {
            if (options && options.deserializeDates) {
              obj = JSON.parse(contents, dateTimeDeserializer);
            } else {
              obj = JSON.parse(contents);
            }
            response.result = obj;
          }
          response.headers = res.message.headers;
        } catch (err) {
        }
        if (statusCode > 299) {
          let msg;
          if (obj && obj.message) {
            msg = obj.message;
          } else if (contents && contents.length > 0) {
            msg = contents;
          } else {
            msg = `Failed request: (${statusCode})`;
          }
          const err = new HttpClientError(msg, statusCode);
          err.result = response.result;
          reject(err);
        } else {
          resolve(response);
        }
      }));
    });
  }
};
var lowercaseKeys = (obj) => Object.keys(obj).reduce((c, k) => (c[k.toLowerCase()] = obj[k], c), {});

// node_modules/@actions/http-client/lib/auth.js
var __awaiter2 = function(thisArg, _arguments, P, generator) {
  function adopt(value) {
    return value instanceof P ? value : new P(function(resolve) {
      resolve(value);
    });
  }
  return new (P || (P = Promise))(function(resolve, reject) {
    function fulfilled(value) {
      try {
        step(generator.next(value));
      } catch (e) {
        reject(e);
      }
    }
    function rejected(value) {
      try {
        step(generator["throw"](value));
      } catch (e) {
        reject(e);
      }
    }
    function step(result) {
      result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected);
    }
    step((generator = generator.apply(thisArg, _arguments || [])).next());
  });
};
var BearerCredentialHandler = class {
  constructor(token) {
    this.token = token;
  }
  // currently implements pre-authorization
  // TODO: support preAuth = false where it hooks on 401
  prepareRequest(options) {
    if (!options.headers) {
      throw Error("The request has no headers");
    }
    options.headers["Authorization"] = `Bearer ${this.token}`;
  }
  // This handler cannot handle 401
  canHandleAuthentication() {
    return false;
  }
  handleAuthentication() {
    return __awaiter2(this, void 0, void 0, function* () {
      throw new Error("not implemented");
    });
  }
};

// node_modules/@actions/core/lib/oidc-utils.js
var __awaiter3 = function(thisArg, _arguments, P, generator) {
  function adopt(value) {
    return value instanceof P ? value : new P(function(resolve) {
      resolve(value);
    });
  }
  return new (P || (P = Promise))(function(resolve, reject) {
    function fulfilled(value) {
      try {
        step(generator.next(value));
      } catch (e) {
        reject(e);
      }
    }
    function rejected(value) {
      try {
        step(generator["throw"](value));
      } catch (e) {
        reject(e);
      }
    }
    function step(result) {
      result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected);
    }
    step((generator = generator.apply(thisArg, _arguments || [])).next());
  });
};
var OidcClient = class _OidcClient {
  static createHttpClient(allowRetry = true, maxRetry = 10) {
    const requestOptions = {
      allowRetries: allowRetry,
      maxRetries: maxRetry
    };
    return new HttpClient("actions/oidc-client", [new BearerCredentialHandler(_OidcClient.getRequestToken())], requestOptions);
  }
  static getRequestToken() {
    const token = process.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"];
    if (!token) {
      throw new Error("Unable to get ACTIONS_ID_TOKEN_REQUEST_TOKEN env variable");
    }
    return token;
  }
  static getIDTokenUrl() {
    const runtimeUrl = process.env["ACTIONS_ID_TOKEN_REQUEST_URL"];
    if (!runtimeUrl) {
      throw new Error("Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable");
    }
    return runtimeUrl;
  }
  static getCall(id_token_url) {
    return __awaiter3(this, void 0, void 0, function* () {
      var _a;
      const httpclient = _OidcClient.createHttpClient();
      const res = yield httpclient.getJson(id_token_url).catch((error2) => {
        throw new Error(`Failed to get ID Token. 
 
        Error Code : ${error2.statusCode}
 
        Error Message: ${error2.message}`);
      });
      const id_token = (_a = res.result) === null || _a === void 0 ? void 0 : _a.value;
      if (!id_token) {
        throw new Error("Response json body do not have ID Token field");
      }
      return id_token;
    });
  }
  static getIDToken(audience) {
    return __awaiter3(this, void 0, void 0, function* () {
      try {
        let id_token_url = _OidcClient.getIDTokenUrl();
        if (audience) {
          const encodedAudience = encodeURIComponent(audience);
          id_token_url = `${id_token_url}&audience=${encodedAudience}`;
        }
        debug(`ID token url is ${id_token_url}`);
        const id_token = yield _OidcClient.getCall(id_token_url);
        setSecret(id_token);
        return id_token;
      } catch (error2) {
        throw new Error(`Error message: ${error2.message}`);
      }
    });
  }
};

// node_modules/@actions/core/lib/summary.js
import { EOL as EOL3 } from "os";
import { constants, promises } from "fs";
var __awaiter4 = function(thisArg, _arguments, P, generator) {
  function adopt(value) {
    return value instanceof P ? value : new P(function(resolve) {
      resolve(value);
    });
  }
  return new (P || (P = Promise))(function(resolve, reject) {
    function fulfilled(value) {
      try {
        step(generator.next(value));
      } catch (e) {
        reject(e);
      }
    }
    function rejected(value) {
      try {
        step(generator["throw"](value));
      } catch (e) {
        reject(e);
      }
    }
    function step(result) {
      result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected);
    }
    step((generator = generator.apply(thisArg, _arguments || [])).next());
  });
};
var { access, appendFile, writeFile } = promises;
var SUMMARY_ENV_VAR = "GITHUB_STEP_SUMMARY";
var Summary = class {
  constructor() {
    this._buffer = "";
  }
  /**
   * Finds the summary file path from the environment, rejects if env var is not found or file does not exist
   * Also checks r/w permissions.
   *
   * @returns step summary file path
   */
  filePath() {
    return __awaiter4(this, void 0, void 0, function* () {
      if (this._filePath) {
        return this._filePath;
      }
      const pathFromEnv = process.env[SUMMARY_ENV_VAR];
      if (!pathFromEnv) {
        throw new Error(`Unable to find environment variable for $${SUMMARY_ENV_VAR}. Check if your runtime environment supports job summaries.`);
      }
      try {
        yield access(pathFromEnv, constants.R_OK | constants.W_OK);
      } catch (_a) {
        throw new Error(`Unable to access summary file: '${pathFromEnv}'. Check if the file has correct read/write permissions.`);
      }
      this._filePath = pathFromEnv;
      return this._filePath;
    });
  }
  /**
   * Wraps content in an HTML tag, adding any HTML attributes
   *
   * @param {string} tag HTML tag to wrap
   * @param {string | null} content content within the tag
   * @param {[attribute: string]: string} attrs key-value list of HTML attributes to add
   *
   * @returns {string} content wrapped in HTML element
   */
  wrap(tag, content, attrs = {}) {
    const htmlAttrs = Object.entries(attrs).map(([key, value]) => ` ${key}="${value}"`).join("");
    if (!content) {
      return `<${tag}${htmlAttrs}>`;
    }
    return `<${tag}${htmlAttrs}>${content}</${tag}>`;
  }
  /**
   * Writes text in the buffer to the summary buffer file and empties buffer. Will append by default.
   *
   * @param {SummaryWriteOptions} [options] (optional) options for write operation
   *
   * @returns {Promise<Summary>} summary instance
   */
  write(options) {
    return __awaiter4(this, void 0, void 0, function* () {
      const overwrite = !!(options === null || options === void 0 ? void 0 : options.overwrite);
      const filePath = yield this.filePath();
      const writeFunc = overwrite ? writeFile : appendFile;
      yield writeFunc(filePath, this._buffer, { encoding: "utf8" });
      return this.emptyBuffer();
    });
  }
  /**
   * Clears the summary buffer and wipes the summary file
   *
   * @returns {Summary} summary instance
   */
  clear() {
    return __awaiter4(this, void 0, void 0, function* () {
      return this.emptyBuffer().write({ overwrite: true });
    });
  }
  /**
   * Returns the current summary buffer as a string
   *
   * @returns {string} string of summary buffer
   */
  stringify() {
    return this._buffer;
  }
  /**
   * If the summary buffer is empty
   *
   * @returns {boolen} true if the buffer is empty
   */
  isEmptyBuffer() {
    return this._buffer.length === 0;
  }
  /**
   * Resets the summary buffer without writing to summary file
   *
   * @returns {Summary} summary instance
   */
  emptyBuffer() {
    this._buffer = "";
    return this;
  }
  /**
   * Adds raw text to the summary buffer
   *
   * @param {string} text content to add
   * @param {boolean} [addEOL=false] (optional) append an EOL to the raw text (default: false)
   *
   * @returns {Summary} summary instance
   */
  addRaw(text, addEOL = false) {
    this._buffer += text;
    return addEOL ? this.addEOL() : this;
  }
  /**
   * Adds the operating system-specific end-of-line marker to the buffer
   *
   * @returns {Summary} summary instance
   */
  addEOL() {
    return this.addRaw(EOL3);
  }
  /**
   * Adds an HTML codeblock to the summary buffer
   *
   * @param {string} code content to render within fenced code block
   * @param {string} lang (optional) language to syntax highlight code
   *
   * @returns {Summary} summary instance
   */
  addCodeBlock(code, lang) {
    const attrs = Object.assign({}, lang && { lang });
    const element = this.wrap("pre", this.wrap("code", code), attrs);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML list to the summary buffer
   *
   * @param {string[]} items list of items to render
   * @param {boolean} [ordered=false] (optional) if the rendered list should be ordered or not (default: false)
   *
   * @returns {Summary} summary instance
   */
  addList(items, ordered = false) {
    const tag = ordered ? "ol" : "ul";
    const listItems = items.map((item) => this.wrap("li", item)).join("");
    const element = this.wrap(tag, listItems);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML table to the summary buffer
   *
   * @param {SummaryTableCell[]} rows table rows
   *
   * @returns {Summary} summary instance
   */
  addTable(rows) {
    const tableBody = rows.map((row) => {
      const cells = row.map((cell2) => {
        if (typeof cell2 === "string") {
          return this.wrap("td", cell2);
        }
        const { header, data, colspan, rowspan } = cell2;
        const tag = header ? "th" : "td";
        const attrs = Object.assign(Object.assign({}, colspan && { colspan }), rowspan && { rowspan });
        return this.wrap(tag, data, attrs);
      }).join("");
      return this.wrap("tr", cells);
    }).join("");
    const element = this.wrap("table", tableBody);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds a collapsable HTML details element to the summary buffer
   *
   * @param {string} label text for the closed state
   * @param {string} content collapsable content
   *
   * @returns {Summary} summary instance
   */
  addDetails(label, content) {
    const element = this.wrap("details", this.wrap("summary", label) + content);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML image tag to the summary buffer
   *
   * @param {string} src path to the image you to embed
   * @param {string} alt text description of the image
   * @param {SummaryImageOptions} options (optional) addition image attributes
   *
   * @returns {Summary} summary instance
   */
  addImage(src, alt, options) {
    const { width, height } = options || {};
    const attrs = Object.assign(Object.assign({}, width && { width }), height && { height });
    const element = this.wrap("img", null, Object.assign({ src, alt }, attrs));
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML section heading element
   *
   * @param {string} text heading text
   * @param {number | string} [level=1] (optional) the heading level, default: 1
   *
   * @returns {Summary} summary instance
   */
  addHeading(text, level) {
    const tag = `h${level}`;
    const allowedTag = ["h1", "h2", "h3", "h4", "h5", "h6"].includes(tag) ? tag : "h1";
    const element = this.wrap(allowedTag, text);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML thematic break (<hr>) to the summary buffer
   *
   * @returns {Summary} summary instance
   */
  addSeparator() {
    const element = this.wrap("hr", null);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML line break (<br>) to the summary buffer
   *
   * @returns {Summary} summary instance
   */
  addBreak() {
    const element = this.wrap("br", null);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML blockquote to the summary buffer
   *
   * @param {string} text quote text
   * @param {string} cite (optional) citation url
   *
   * @returns {Summary} summary instance
   */
  addQuote(text, cite) {
    const attrs = Object.assign({}, cite && { cite });
    const element = this.wrap("blockquote", text, attrs);
    return this.addRaw(element).addEOL();
  }
  /**
   * Adds an HTML anchor tag to the summary buffer
   *
   * @param {string} text link text/content
   * @param {string} href hyperlink
   *
   * @returns {Summary} summary instance
   */
  addLink(text, href) {
    const element = this.wrap("a", text, { href });
    return this.addRaw(element).addEOL();
  }
};
var _summary = new Summary();
var summary = _summary;

// node_modules/@actions/core/lib/platform.js
import os3 from "os";

// node_modules/@actions/io/lib/io-util.js
import * as fs2 from "fs";
var { chmod, copyFile, lstat, mkdir, open, readdir, rename, rm, rmdir, stat, symlink, unlink } = fs2.promises;
var IS_WINDOWS = process.platform === "win32";
var READONLY = fs2.constants.O_RDONLY;

// node_modules/@actions/exec/lib/toolrunner.js
var IS_WINDOWS2 = process.platform === "win32";

// node_modules/@actions/core/lib/platform.js
var platform = os3.platform();
var arch = os3.arch();

// node_modules/@actions/core/lib/core.js
var __awaiter5 = function(thisArg, _arguments, P, generator) {
  function adopt(value) {
    return value instanceof P ? value : new P(function(resolve) {
      resolve(value);
    });
  }
  return new (P || (P = Promise))(function(resolve, reject) {
    function fulfilled(value) {
      try {
        step(generator.next(value));
      } catch (e) {
        reject(e);
      }
    }
    function rejected(value) {
      try {
        step(generator["throw"](value));
      } catch (e) {
        reject(e);
      }
    }
    function step(result) {
      result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected);
    }
    step((generator = generator.apply(thisArg, _arguments || [])).next());
  });
};
var ExitCode;
(function(ExitCode2) {
  ExitCode2[ExitCode2["Success"] = 0] = "Success";
  ExitCode2[ExitCode2["Failure"] = 1] = "Failure";
})(ExitCode || (ExitCode = {}));
function exportVariable(name, val) {
  const convertedVal = toCommandValue(val);
  process.env[name] = convertedVal;
  const filePath = process.env["GITHUB_ENV"] || "";
  if (filePath) {
    return issueFileCommand("ENV", prepareKeyValueMessage(name, val));
  }
  issueCommand("set-env", { name }, convertedVal);
}
function setSecret(secret) {
  issueCommand("add-mask", {}, secret);
}
function getInput(name, options) {
  const val = process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "";
  if (options && options.required && !val) {
    throw new Error(`Input required and not supplied: ${name}`);
  }
  if (options && options.trimWhitespace === false) {
    return val;
  }
  return val.trim();
}
function setOutput(name, value) {
  const filePath = process.env["GITHUB_OUTPUT"] || "";
  if (filePath) {
    return issueFileCommand("OUTPUT", prepareKeyValueMessage(name, value));
  }
  process.stdout.write(os4.EOL);
  issueCommand("set-output", { name }, toCommandValue(value));
}
function setFailed(message) {
  process.exitCode = ExitCode.Failure;
  error(message);
}
function debug(message) {
  issueCommand("debug", {}, message);
}
function error(message, properties = {}) {
  issueCommand("error", toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
function warning(message, properties = {}) {
  issueCommand("warning", toCommandProperties(properties), message instanceof Error ? message.toString() : message);
}
function info(message) {
  process.stdout.write(message + os4.EOL);
}
function saveState(name, value) {
  const filePath = process.env["GITHUB_STATE"] || "";
  if (filePath) {
    return issueFileCommand("STATE", prepareKeyValueMessage(name, value));
  }
  issueCommand("save-state", { name }, toCommandValue(value));
}
function getIDToken(aud) {
  return __awaiter5(this, void 0, void 0, function* () {
    return yield OidcClient.getIDToken(aud);
  });
}

// client/describe.ts
var HINTS = {
  ERR_REQUEST_INVALID: 'check the role name (lower case letters, digits, ".", "_", "-"), that every entry of grants names a grant type or an env name of this role (exactly, in the same letter case), and that the ID token is a plain JWT',
  ERR_PAYLOAD_TOO_LARGE: "the ID token is larger than the broker accepts (8 KiB)",
  ERR_TOKEN_INVALID: "check that the ID token's audience equals the audience the broker expects for this CI's issuer, and that the broker trusts this issuer",
  ERR_TOKEN_EXPIRED: "request a fresh ID token right before the exchange, and check the runner's clock",
  ERR_TOKEN_REPLAYED: "every exchange needs a fresh ID token; if an earlier attempt failed after the broker had seen the token, re-run the job",
  ERR_ACCESS_DENIED: "check that the role exists and that its allow rules match this job's claims (repository and owner ids, ref, environment, event); the broker's audit log has the exact reason under this request id",
  ERR_NOT_FOUND: "check that the broker URL points at secret-broker (the base URL, without /v1/...) and that this broker version has the endpoint",
  ERR_RATE_LIMITED: "too many exchanges for this identity or client; retry later",
  ERR_UPSTREAM: "a credential provider (cloud, GitHub, the secret store) failed; the broker's operators find the reason in the audit log under this request id",
  ERR_UNAVAILABLE: "the broker could not serve the request (issuer keys, audit or replay store); retry later or ask the broker's operators",
  ERR_INTERNAL: "a broker bug; give the request id to the broker's operators"
};
var TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|DEPTH_ZERO/;
function describeFailure(f, subject) {
  const ids = [f.code, f.status !== void 0 ? `HTTP ${f.status}` : void 0, f.requestId ? `request id ${f.requestId}` : void 0].filter(Boolean).join(", ");
  const tries = f.attempts > 1 ? ` after ${f.attempts} attempts` : "";
  switch (f.kind) {
    case "token":
      return `${subject}: no ID token: ${f.reason ?? "unknown error"}`;
    case "invalid":
      return `${subject}: the answer${ids ? ` (${ids})` : ""} is not a secret-broker response${f.reason ? ` (${f.reason})` : ""}: check the broker URL and any proxy in between (HTTPS_PROXY, NO_PROXY)`;
    case "refused":
    case "unavailable": {
      if (f.status === void 0) {
        const reason = f.reason ?? "network error";
        const check = TLS_CODES.test(reason) ? "the broker's TLS certificate is not trusted: for a private CA, point NODE_EXTRA_CA_CERTS at its PEM file" : reason === "timeout" || reason === "deadline" ? "the broker did not answer in time: check the broker URL, the network path from this runner, and the timeout" : "check the broker URL, network access from this runner, and proxy settings (HTTPS_PROXY, NO_PROXY)";
        return `${subject}: could not reach the broker (${reason})${tries}: ${check}`;
      }
      const hint = f.code !== void 0 && Object.hasOwn(HINTS, f.code) ? HINTS[f.code] : void 0;
      const what = f.kind === "refused" ? "the broker refused" : "the broker failed";
      return `${subject}: ${what} (${ids})${tries}: ${hint ?? (f.code ? "see the broker's documentation for this code" : "the answer carries no secret-broker error code: check the broker URL and any proxy in between")}`;
    }
  }
}
function describeRetry(prefix, r) {
  return `${prefix}: attempt ${r.attempt} failed (${r.reason}); retrying in ${(r.delayMs / 1e3).toFixed(1)}s`;
}
function describeGrant(prefix, response) {
  const types = response.credentials.map(
    (c) => c.type === "secret" ? `secret ${c.env}` : c.type === "gcp" && c.subject_token !== void 0 ? "gcp subject token" : c.type
  );
  return `${prefix}: role "${response.role}" granted ${types.join(", ") || "nothing"} (request id ${response.request_id}, expires ${response.expires_at})`;
}

// client/credentials.ts
var REQUIRED = {
  aws: ["access_key_id", "secret_access_key"],
  azure: ["access_token"],
  // access_token or subject_token: checked in parseExchangeResponse.
  gcp: [],
  github: ["token"],
  secret: ["name", "value"],
  postgres: ["username", "password", "host", "port", "database", "url"]
};
var OPTIONAL_STRINGS = {
  aws: ["session_token", "expires_at", "region", "role_arn"],
  azure: ["expires_at", "tenant_id", "client_id", "scope"],
  gcp: ["access_token", "subject_token", "subject_token_type", "audience", "expires_at", "service_account", "project_id"],
  github: ["expires_at"],
  secret: ["env", "source"],
  postgres: ["expires_at", "env_prefix"]
};
var PUBLIC_FIELDS = /* @__PURE__ */ new Set([
  "type",
  "expires_at",
  "region",
  "role_arn",
  "tenant_id",
  "client_id",
  "scope",
  "service_account",
  "project_id",
  // A gcp subject token's workload identity provider and token type: names, not secrets.
  "audience",
  "subject_token_type",
  "repositories",
  "permissions",
  "name",
  "env",
  "version",
  "source",
  "env_prefix"
]);
var REVOCABLE_TYPES = /* @__PURE__ */ new Set(["github", "postgres"]);
function hasRevocable(response) {
  return response.unknown_types.length > 0 || response.credentials.some((c) => REVOCABLE_TYPES.has(c.type));
}
function awsAccountIdOf(arn) {
  return arn === void 0 ? void 0 : /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];
}
function isKnownType(type) {
  return typeof type === "string" && Object.hasOwn(REQUIRED, type);
}
var isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
function parseExchangeResponse(body) {
  if (!isObject(body)) return { ok: false, reason: "the body is not a JSON object" };
  for (const key of ["request_id", "role", "expires_at"]) {
    if (typeof body[key] !== "string") return { ok: false, reason: `"${key}" is missing or not a string` };
  }
  if (!Array.isArray(body.credentials)) return { ok: false, reason: '"credentials" is missing or not a list' };
  const credentials = [];
  const unknownTypes = [];
  for (const [i, raw] of body.credentials.entries()) {
    if (!isObject(raw) || typeof raw.type !== "string") return { ok: false, reason: `credentials[${i}] has no type` };
    const c = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null));
    const type = raw.type;
    if (!isKnownType(type)) {
      unknownTypes.push(type);
      continue;
    }
    for (const f of REQUIRED[type]) {
      if (typeof c[f] !== "string") return { ok: false, reason: `credentials[${i}] (${type}): "${f}" is missing or not a string` };
    }
    for (const f of OPTIONAL_STRINGS[type]) {
      if (c[f] !== void 0 && typeof c[f] !== "string")
        return { ok: false, reason: `credentials[${i}] (${type}): "${f}" is not a string` };
    }
    if (type === "gcp") {
      const problem = gcpShapeProblem(c);
      if (problem) return { ok: false, reason: `credentials[${i}] (gcp): ${problem}` };
    }
    if (type === "secret") {
      credentials.push({ ...c, env: typeof c.env === "string" ? c.env : c.name });
    } else {
      credentials.push(c);
    }
  }
  return {
    ok: true,
    response: {
      request_id: body.request_id,
      role: body.role,
      expires_at: body.expires_at,
      credentials,
      unknown_types: unknownTypes
    }
  };
}
function gcpShapeProblem(c) {
  const access2 = typeof c.access_token === "string";
  const subject = typeof c.subject_token === "string";
  if (access2 === subject)
    return access2 ? '"access_token" and "subject_token" are both present' : '"access_token" is missing or not a string';
  if (subject) {
    for (const f of ["subject_token_type", "audience"]) {
      if (typeof c[f] !== "string") return `"${f}" is missing (a subject token needs it)`;
    }
  }
  return void 0;
}

// client/exchange.ts
var BASE_DELAY_MS = 500;
var MAX_DELAY_MS = 8e3;
var MAX_RESPONSE_CHARS = 1024 * 1024;
var CODE = /^ERR_[A-Z_]{1,40}$/;
var REQUEST_ID = /^[A-Za-z0-9_-]{1,80}$/;
async function exchangeToken(role, options) {
  const grants = options.grants?.length ? { grants: [...options.grants] } : {};
  const result = await callBroker("v1/exchange", (token) => ({ token, role, ...grants }), options);
  if (!result.ok) return result;
  const parsed = parseExchangeResponse(result.body);
  if (!parsed.ok)
    return {
      ok: false,
      kind: "invalid",
      status: result.status,
      reason: parsed.reason,
      attempts: result.attempts,
      ...requestIdOf(result.body, result.headerRequestId)
    };
  return { ok: true, response: parsed.response, body: result.body };
}
function brokerEndpoint(brokerUrl, path) {
  const base = new URL(brokerUrl);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  return new URL(path, base).toString();
}
async function callBroker(path, makeBody, o) {
  const sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const random = o.random ?? Math.random;
  const now = o.now ?? Date.now;
  const url = brokerEndpoint(o.brokerUrl, path);
  const deadline = now() + o.timeoutMs;
  let attempts = 0;
  for (; ; ) {
    attempts += 1;
    let token;
    try {
      token = await o.getToken();
    } catch (err) {
      return { ok: false, kind: "token", reason: err.message, attempts };
    }
    const outcome = await attempt(o.transport, url, JSON.stringify(makeBody(token)), Math.max(1, deadline - now()));
    if (outcome.ok) return { ...outcome, attempts };
    const failure = { ...outcome.failure, attempts };
    if (!outcome.retryable || attempts > o.retries) return failure;
    const delay = backoff(attempts, random, outcome.retryAfterMs);
    if (now() + delay >= deadline) return { ...failure, reason: failure.reason ?? "deadline" };
    o.onRetry?.({ attempt: attempts, delayMs: delay, reason: failure.code ?? failure.reason ?? `HTTP ${failure.status}` });
    await sleep(delay);
  }
}
async function attempt(transport, url, body, timeoutMs) {
  let res;
  let text;
  try {
    res = await transport(url, body, timeoutMs);
    text = await res.text();
  } catch (err) {
    return { ok: false, retryable: true, failure: { ok: false, kind: "unavailable", reason: networkReason(err) } };
  }
  const headerRequestId = res.header("x-request-id");
  let json;
  try {
    json = text.length > MAX_RESPONSE_CHARS ? void 0 : JSON.parse(text);
  } catch {
    json = void 0;
  }
  if (res.status >= 200 && res.status < 300) {
    if (json === void 0)
      return {
        ok: false,
        retryable: false,
        failure: {
          ok: false,
          kind: "invalid",
          status: res.status,
          reason: "the answer is not JSON",
          ...requestIdOf(void 0, headerRequestId)
        }
      };
    return { ok: true, status: res.status, body: json, headerRequestId };
  }
  const code = json?.error;
  const failure = {
    ok: false,
    kind: res.status === 429 || res.status >= 500 ? "unavailable" : res.status >= 300 && res.status < 400 ? "invalid" : "refused",
    status: res.status,
    ...typeof code === "string" && CODE.test(code) ? { code } : {},
    ...requestIdOf(json, headerRequestId)
  };
  if (res.status >= 300 && res.status < 400) failure.reason = "redirects are not followed";
  const retryable = res.status === 429 || res.status >= 500;
  const retryAfter = Number(res.header("retry-after"));
  return { ok: false, retryable, failure, ...retryable && retryAfter > 0 ? { retryAfterMs: Math.min(retryAfter, 30) * 1e3 } : {} };
}
function backoff(attempt2, random, retryAfterMs) {
  if (retryAfterMs !== void 0) return retryAfterMs;
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt2 - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}
function requestIdOf(json, header) {
  const fromBody = json?.request_id;
  const id = typeof fromBody === "string" && REQUEST_ID.test(fromBody) ? fromBody : header !== null && REQUEST_ID.test(header) ? header : void 0;
  return id === void 0 ? {} : { requestId: id };
}
function networkReason(err) {
  const e = err;
  const code = e?.code ?? e?.cause?.code;
  if (typeof code === "string" && /^[A-Z0-9_]{2,60}$/.test(code)) return code;
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return "timeout";
  return "network error";
}

// client/env-names.ts
var ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
var ALLOWED = /* @__PURE__ */ new Set([
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AZURE_ACCESS_TOKEN",
  "GOOGLE_OAUTH_ACCESS_TOKEN",
  "CLOUDSDK_AUTH_ACCESS_TOKEN",
  "GH_TOKEN",
  // Registry tokens under a refused prefix, read as credentials only (.npmrc's ${NODE_AUTH_TOKEN}, cargo, gem, yarn).
  "NODE_AUTH_TOKEN",
  "CARGO_REGISTRY_TOKEN",
  "GEM_HOST_API_KEY",
  "YARN_NPM_AUTH_TOKEN",
  // https://www.postgresql.org/docs/current/libpq-envars.html: connection settings only, no code.
  "PGHOST",
  "PGHOSTADDR",
  "PGPORT",
  "PGDATABASE",
  "PGUSER",
  "PGPASSWORD",
  "PGPASSFILE",
  "PGREQUIREAUTH",
  "PGCHANNELBINDING",
  "PGSERVICE",
  "PGSERVICEFILE",
  "PGOPTIONS",
  "PGAPPNAME",
  "PGSSLMODE",
  "PGREQUIRESSL",
  "PGSSLNEGOTIATION",
  "PGSSLCOMPRESSION",
  "PGSSLCERT",
  "PGSSLKEY",
  "PGSSLCERTMODE",
  "PGSSLROOTCERT",
  "PGSSLCRL",
  "PGSSLCRLDIR",
  "PGSSLSNI",
  "PGREQUIREPEER",
  "PGSSLMINPROTOCOLVERSION",
  "PGSSLMAXPROTOCOLVERSION",
  "PGGSSENCMODE",
  "PGKRBSRVNAME",
  "PGGSSLIB",
  "PGGSSDELEGATION",
  "PGCONNECT_TIMEOUT",
  "PGCLIENTENCODING",
  "PGTARGETSESSIONATTRS",
  "PGLOADBALANCEHOSTS",
  "PGMINPROTOCOLVERSION",
  "PGMAXPROTOCOLVERSION",
  "PGDATESTYLE",
  "PGTZ",
  "PGGEQO",
  "PGSYSCONFDIR",
  "PGLOCALEDIR"
]);
var STEERING_SUFFIXES = [
  "OPTIONS",
  "OPTS",
  "FLAGS",
  "ARGS",
  "PATH",
  "HOME",
  "DIR",
  "DIRS",
  "CONFIG",
  "CONF",
  "_RC",
  "FILE",
  "FILENAME",
  "PROXY",
  "COMMAND",
  "CMD",
  "SHELL",
  "EDITOR",
  "VISUAL",
  "PAGER",
  "BROWSER",
  "ASKPASS",
  "PRELOAD",
  "WRAPPER",
  "LIB",
  "LIBS",
  "STARTUP",
  "IGNORE",
  "EXEC",
  "EXECUTABLE",
  "BIN",
  "BINARY",
  "PROGRAM",
  "INTERPRETER",
  "_SSH",
  "_PYTHON",
  "_NODE",
  "_RUBY",
  "_PERL",
  "TLS_VERIFY",
  "SSL_VERIFY",
  "NO_VERIFY"
];
var STEERING_PREFIXES = [
  // the CI runners
  "GITHUB_",
  "RUNNER_",
  "ACTIONS_",
  "INPUT_",
  "STATE_",
  "CI_",
  "GITLAB_",
  "FF_",
  // the dynamic loader, the shells, the C library
  "LD_",
  "DYLD_",
  "BASH",
  "ZSH",
  "KSH_",
  "PROMPT_",
  "LC_",
  "GLIBC_",
  "MALLOC_",
  "GCONV_",
  "TERMINFO",
  "XDG_",
  "SUDO_",
  "SYSTEMD_",
  // version control, gpg
  "GIT_",
  "GNUPG",
  "SVN_",
  // language runtimes and package managers
  "NODE_",
  "NPM_CONFIG_",
  "YARN_",
  "COREPACK_",
  "BUN_CONFIG_",
  "PYTHON",
  "PIP_",
  "PIPX_",
  "UV_",
  "VIRTUAL_ENV",
  "PERL",
  "RUBY",
  "GEM_",
  "BUNDLE_",
  "JAVA_",
  "_JAVA_",
  "JDK_",
  "MAVEN_",
  "GRADLE_",
  "SBT_",
  "DOTNET_",
  "COMPLUS_",
  "CORECLR_",
  "COR_",
  "CARGO_",
  "RUSTUP_",
  "RUSTC",
  "RUSTDOC",
  "CGO_",
  "CMAKE_",
  "TF_CLI_",
  "PKG_CONFIG",
  "ERL_",
  "ELIXIR_",
  "LUA_",
  "PHP_",
  "COMPOSER_",
  "DENO_TLS_",
  // TLS trust and transport
  "SSL_",
  "OPENSSL_",
  "CURL_",
  "DOCKER_HOST",
  "DOCKER_CONTEXT",
  "DOCKER_TLS",
  // credential sources that run commands or redirect where an SDK looks
  "AWS_ENDPOINT_URL",
  "AWS_CONTAINER_",
  "AWS_EC2_METADATA_",
  "AWS_PROFILE",
  "AWS_SDK_",
  "CLOUDSDK_PYTHON",
  "GH_HOST",
  "GH_REPO"
];
var STEERING_NAMES = /* @__PURE__ */ new Set([
  "ENV",
  "IFS",
  "PS0",
  "PS1",
  "PS2",
  "PS3",
  "PS4",
  "CDPATH",
  "SHELLOPTS",
  "POSIXLY_CORRECT",
  "OPTIND",
  "OPTARG",
  "OPTERR",
  "MAIL",
  "MAILCHECK",
  "TMOUT",
  "TIMEFORMAT",
  "FUNCNEST",
  "COPROC",
  "SHLVL",
  "PWD",
  "OLDPWD",
  "USER",
  "LOGNAME",
  "UID",
  "EUID",
  "PPID",
  "GROUPS",
  "HOSTNAME",
  "RANDOM",
  "SRANDOM",
  "SECONDS",
  "LINENO",
  "REPLY",
  "COLUMNS",
  "LINES",
  "TMP",
  "TEMP",
  "TERM",
  "TERMCAP",
  "LANG",
  "LANGUAGE",
  "TZ",
  "NLSPATH",
  "HOSTALIASES",
  "LOCALDOMAIN",
  "INPUTRC",
  "WGETRC",
  "NETRC",
  "MANOPT",
  "CI",
  "HISTSIZE",
  "HISTCONTROL",
  "HISTTIMEFORMAT",
  "HISTCMD",
  "HISTCHARS",
  "PROMPT",
  "RPROMPT",
  "LESS",
  "LESSOPEN",
  "LESSCLOSE",
  "LESSKEY",
  "LESSSECURE",
  "LESSCHARSET",
  "LESSEDIT",
  "MAKE",
  "MAKEFILES",
  "MAKELEVEL",
  "MAKEOVERRIDES",
  "SSH_AUTH_SOCK",
  "SSH_AGENT_PID",
  "SSH_ASKPASS_REQUIRE",
  "GPG_AGENT_INFO",
  "GPG_TTY",
  "CC",
  "CXX",
  "CPP",
  "LD",
  "AR",
  "AS",
  "NM",
  "RANLIB",
  "STRIP",
  "OBJCOPY",
  "OBJDUMP",
  "CLASSPATH",
  "COMSPEC",
  "PATHEXT",
  "SYSTEMROOT",
  "WINDIR",
  "APPDATA",
  "LOCALAPPDATA",
  "USERPROFILE",
  "PROGRAMDATA",
  "PROGRAMFILES",
  "__COMPAT_LAYER",
  "DENO_CERT",
  "PIP_CERT",
  "NODE",
  "PYTHON",
  "RUBY",
  "PERL"
]);
var CA_SETTING = /(?:^|_)(?:CA(?:_(?:BUNDLE|CERTS?|FILE|PATH|DIR|INFO|STORE|ROOTS?)|$)|CAFILE|CAINFO|CAPATH|CACERTS?|CABUNDLE|ROOT_CERTS?|TRUSTSTORE|TRUST_STORE)(?:_|$)/;
var GO_SETTING = /^GO[A-Z0-9]*$/;
function envNameProblem(name) {
  if (name === "") return "the name is empty";
  if (name.includes("=")) return 'the name contains "="';
  if (/[\0\r\n]/.test(name)) return "the name contains NUL, CR or LF";
  if (!ENV_NAME.test(name)) return "the name must match [A-Za-z_][A-Za-z0-9_]* (at most 255 characters)";
  if (steersExecution(name)) return "the name is reserved for the runner or the shell";
  return void 0;
}
function steersExecution(name) {
  const upper = name.toUpperCase();
  if (ALLOWED.has(upper)) return false;
  return STEERING_NAMES.has(upper) || STEERING_SUFFIXES.some((s) => upper.endsWith(s)) || STEERING_PREFIXES.some((p) => upper.startsWith(p)) || CA_SETTING.test(upper) || GO_SETTING.test(upper);
}
function printableName(name) {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name);
}

// client/env.ts
function envVarsFor(credentials, options = {}) {
  const vars = [];
  const problems = [];
  const prefix = options.prefix ?? "";
  const push = (name, value) => {
    if (value === void 0 || value === "") return;
    const problem = envNameProblem(name);
    if (problem) problems.push(`${printableName(name)}: ${problem}`);
    else if (value.includes("\0")) problems.push(`${printableName(name)}: the value contains NUL, which no environment can hold`);
    else if (new RegExp("\\p{Cs}", "u").test(value)) problems.push(`${printableName(name)}: the value is not well-formed Unicode text`);
    else if (vars.some((v) => v.name === name))
      problems.push(`${printableName(name)}: two credentials set this variable (use outputs, with export-env: false, to tell them apart)`);
    else vars.push({ name, value });
  };
  for (const c of credentials) {
    switch (c.type) {
      case "aws": {
        push("AWS_ACCESS_KEY_ID", c.access_key_id);
        push("AWS_SECRET_ACCESS_KEY", c.secret_access_key);
        push("AWS_SESSION_TOKEN", c.session_token);
        const region = options.awsRegion || c.region;
        push("AWS_REGION", region);
        push("AWS_DEFAULT_REGION", region);
        break;
      }
      case "azure":
        push("AZURE_ACCESS_TOKEN", c.access_token);
        break;
      case "gcp":
        push("GOOGLE_OAUTH_ACCESS_TOKEN", c.access_token);
        push("CLOUDSDK_AUTH_ACCESS_TOKEN", c.access_token);
        break;
      case "github":
        push("GH_TOKEN", c.token);
        break;
      case "secret":
        push(`${prefix}${c.env}`, c.value);
        break;
      case "postgres": {
        const pg = c.env_prefix ?? "PG";
        push(`${pg}HOST`, c.host);
        push(`${pg}PORT`, c.port);
        push(`${pg}DATABASE`, c.database);
        push(`${pg}USER`, c.username);
        push(`${pg}PASSWORD`, c.password);
        push("DATABASE_URL", c.url);
        break;
      }
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, vars };
}

// action/src/export.ts
function planExports(credentials, inputs) {
  if (!inputs.exportEnv) return { ok: true, vars: [] };
  return envVarsFor(credentials, { prefix: inputs.envPrefix, awsRegion: inputs.awsRegion });
}
function exportVariables(vars, exportVariable2) {
  for (const v of vars) exportVariable2(v.name, v.value);
}

// action/src/id-token.ts
var NO_ID_TOKEN = "this job cannot request a GitHub OIDC ID token (ACTIONS_ID_TOKEN_REQUEST_URL is not set). Give the workflow or the job `permissions: id-token: write`. Pull requests from forks never receive an ID token (GitHub withholds it whatever the permissions say), so this step cannot run for them; use a trusted event such as push, or pull_request from a branch of the same repository.";
async function getIdToken(audience, env = process.env) {
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) throw new Error(NO_ID_TOKEN);
  try {
    return await getIDToken(audience);
  } catch (err) {
    const reason = String(err.message).replace(/\s+/g, " ").trim();
    throw new Error(
      `GitHub did not issue an ID token for audience ${JSON.stringify(audience)} (${reason}); check \`permissions: id-token: write\``
    );
  }
}

// broker/src/policy/role-name.ts
var ROLE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

// broker/src/policy/select-grants.ts
var GRANT_SELECTOR = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
var MAX_GRANT_SELECTORS = 16;

// client/inputs.ts
var LOOPBACK = /* @__PURE__ */ new Set(["127.0.0.1", "localhost", "[::1]"]);
var ENV_PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
var AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
var TIMEOUT_SECONDS = { fallback: 60, min: 1, max: 600 };
var RETRIES = { fallback: 3, min: 0, max: 10 };
function parseBrokerUrl(text) {
  if (text === "") return { ok: false, problem: "is required: the base URL of your secret-broker, e.g. https://broker.example.com" };
  let url;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: "is not an absolute URL (for example https://broker.example.com)" };
  }
  if (url.username || url.password) return { ok: false, problem: "must not contain a user name or password" };
  if (url.search || url.hash) return { ok: false, problem: "must not contain a query or fragment" };
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    return { ok: false, problem: "must use https:// (http:// only for 127.0.0.1, localhost or [::1])" };
  }
  return { ok: true, url: url.toString().replace(/\/+$/, "") };
}
function roleNameProblem(role) {
  if (role === "") return "is required: the name of a role in the broker's policies";
  if (!ROLE_NAME.test(role)) return `${printableName(role)} is not a role name (lower case letters, digits, ".", "_", "-"; at most 63)`;
  return void 0;
}
function envPrefixProblem(prefix) {
  return prefix && !ENV_PREFIX.test(prefix) ? "must match [A-Za-z_][A-Za-z0-9_]* (it starts every secret variable name)" : void 0;
}
function awsRegionProblem(region) {
  return region && !AWS_REGION.test(region) ? `${printableName(region)} is not an AWS region such as us-east-1` : void 0;
}
function parseGrantList(text) {
  const grants = text.split(/[,\r\n]/).map((s) => s.trim()).filter((s) => s !== "");
  const bad = grants.find((g) => !GRANT_SELECTOR.test(g));
  if (bad !== void 0) return { ok: false, problem: `${printableName(bad)} is not a grant type or an env name` };
  if (new Set(grants).size !== grants.length) return { ok: false, problem: "names an entry twice" };
  if (grants.length > MAX_GRANT_SELECTORS) return { ok: false, problem: `names more than ${MAX_GRANT_SELECTORS} entries` };
  return { ok: true, grants };
}
function parseWholeNumber(text, range) {
  if (text === void 0) return { ok: true, value: range.fallback };
  const n = Number(text);
  if (!Number.isInteger(n) || n < range.min || n > range.max)
    return { ok: false, problem: `must be a whole number from ${range.min} to ${range.max}` };
  return { ok: true, value: n };
}

// action/src/inputs.ts
function readInputs(get) {
  const problems = [];
  const bad = (name, problem) => {
    if (problem) problems.push(`input ${name} ${problem}`);
  };
  const brokerText = get("broker-url");
  const broker = parseBrokerUrl(brokerText);
  if (!broker.ok) bad("broker-url", broker.problem);
  const role = get("role");
  bad("role", roleNameProblem(role));
  const envPrefix = get("env-prefix");
  bad("env-prefix", envPrefixProblem(envPrefix));
  const awsRegion = get("aws-region");
  bad("aws-region", awsRegionProblem(awsRegion));
  const grantList = parseGrantList(get("grants"));
  if (!grantList.ok) bad("grants", grantList.problem);
  const int = (name, range) => {
    const parsed = parseWholeNumber(get(name) || void 0, range);
    if (parsed.ok) return parsed.value;
    bad(name, parsed.problem);
    return range.fallback;
  };
  const bool = (name, fallback) => {
    const text = get(name);
    if (text === "") return fallback;
    if (/^(true|True|TRUE)$/.test(text)) return true;
    if (/^(false|False|FALSE)$/.test(text)) return false;
    bad(name, "must be true or false");
    return fallback;
  };
  const inputs = {
    brokerUrl: broker.ok ? broker.url : "",
    role,
    // Defaults to the broker URL exactly as written: that is what the broker's issuers.yaml usually names.
    audience: get("audience") || brokerText,
    exportEnv: bool("export-env", true),
    envPrefix,
    awsRegion,
    timeoutSeconds: int("timeout-seconds", TIMEOUT_SECONDS),
    retries: int("retries", RETRIES),
    cleanup: bool("cleanup", true),
    grants: grantList.ok ? grantList.grants : [],
    outputCredentials: bool("output-credentials", false),
    maskAwsAccountId: bool("mask-aws-account-id", false)
  };
  return problems.length ? { ok: false, problems } : { ok: true, inputs };
}

// client/mask.ts
var STRUCTURE_ONLY = /^[\s{}[\],:]*$/;
function valuesToMask(body) {
  const out = /* @__PURE__ */ new Set();
  const credentials = body?.credentials;
  if (!Array.isArray(credentials)) return [];
  for (const credential of credentials) {
    if (typeof credential !== "object" || credential === null) continue;
    for (const [field, value] of Object.entries(credential)) {
      if (PUBLIC_FIELDS.has(field)) continue;
      for (const s of stringsIn(value)) addForms(out, s);
    }
  }
  return [...out];
}
function stringsIn(value) {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(stringsIn);
  return [];
}
function addForms(out, value, depth = 0) {
  add(out, value);
  if (/[\r\n]/.test(value)) {
    for (const line of value.split(/\r\n|\r|\n/)) {
      const trimmed = line.trim();
      if (!STRUCTURE_ONLY.test(trimmed)) add(out, trimmed);
    }
  }
  const json = depth < 2 ? parseJsonContainer(value) : void 0;
  if (json !== void 0) {
    for (const s of stringsIn(json)) {
      addForms(out, s, depth + 1);
      const escaped = JSON.stringify(s).slice(1, -1);
      if (escaped !== s) add(out, escaped);
    }
  }
}
function add(out, s) {
  if (s !== "") out.add(s);
}
function parseJsonContainer(value) {
  const t = value.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return void 0;
  try {
    const parsed = JSON.parse(t);
    return typeof parsed === "object" && parsed !== null ? parsed : void 0;
  } catch {
    return void 0;
  }
}

// action/src/mask.ts
function maskResponse(body, setSecret2) {
  const values = valuesToMask(body);
  for (const v of values) setSecret2(v);
  return values.length;
}

// action/src/outputs.ts
var OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;
function outputsFor(response, options) {
  const outputs = [];
  const problems = [];
  const seen = /* @__PURE__ */ new Set();
  const problem = (name) => !OUTPUT_NAME.test(name) ? `output ${printableName(name)}: not a valid output name` : seen.has(name.toLowerCase()) ? `output ${printableName(name)}: two credentials produce this output` : void 0;
  const put = (name, value) => {
    const text = typeof value === "string" ? value : value === void 0 || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
    if (text === "") return;
    const p = problem(name);
    if (p) return problems.push(p);
    seen.add(name.toLowerCase());
    outputs.push([name, text]);
  };
  put("request-id", response.request_id);
  put("expires-at", response.expires_at);
  const count = /* @__PURE__ */ new Map();
  for (const c of response.credentials) {
    if (c.type === "secret") {
      const p = problem(`secret-${c.env}`);
      if (p) {
        problems.push(p);
        continue;
      }
      if (options.credentials) put(`secret-${c.env}`, c.value);
      put(`secret-${c.env}-version`, c.version);
      put(`secret-${c.env}-name`, c.name);
      continue;
    }
    const n = (count.get(c.type) ?? 0) + 1;
    count.set(c.type, n);
    const prefix = n === 1 ? c.type : `${c.type}-${n}`;
    for (const [field, value] of Object.entries(c)) {
      if (field === "type" || !options.credentials && !PUBLIC_FIELDS.has(field)) continue;
      put(`${prefix}-${field.replaceAll("_", "-")}`, value);
    }
    if (c.type === "aws") put(`${prefix}-account-id`, awsAccountIdOf(c.role_arn));
  }
  return problems.length ? { ok: false, problems } : { ok: true, outputs };
}

// action/src/state.ts
var STATE = {
  requestId: "request-id",
  expiresAt: "expires-at",
  /** JSON list of the variable names main exported, for post to blank. */
  exported: "exported",
  /** "false" when the exchange returned nothing revocable: post then makes no revoke call. */
  revocable: "revocable"
};

// action/src/summary.ts
var cell = (s) => s.replace(/[|\r\n<>`]/g, (ch) => ({ "|": "\\|", "\r": " ", "\n": " ", "<": "&lt;", ">": "&gt;", "`": "'" })[ch] ?? ch);
function summaryMarkdown(response, brokerUrl, options = {}) {
  const hidden = (s) => (options.hide ?? []).reduce((t, h) => h ? t.replaceAll(h, "***") : t, s);
  const rows = response.credentials.map((c) => {
    const raw = c.type === "aws" ? c.role_arn ?? "" : c.type === "azure" ? c.scope ?? "" : c.type === "gcp" ? c.service_account ?? c.project_id ?? "" : c.type === "github" ? (c.repositories ?? []).join(", ") : c.type === "postgres" ? (
      // Names only: the login and host are masked values.
      `${c.env_prefix ?? "PG"}HOST..${c.env_prefix ?? "PG"}PASSWORD, DATABASE_URL`
    ) : `${c.env}${c.version !== void 0 ? ` (version ${c.version})` : ""}`;
    const target = hidden(raw);
    const expiry = c.type === "secret" ? "" : c.expires_at ?? "";
    return `| ${cell(c.type)} | ${cell(target)} | ${cell(expiry)} |`;
  });
  for (const t of response.unknown_types) rows.push(`| ${cell(t)} | (not used by this version of the action) | |`);
  return [
    "### secret-broker",
    "",
    `Role \`${cell(response.role)}\` from ${cell(brokerUrl)}: request id \`${cell(response.request_id)}\`, expires ${cell(response.expires_at)}.`,
    "",
    "| type | for | expires |",
    "|---|---|---|",
    ...rows,
    ""
  ].join("\n");
}

// action/src/transport.ts
var USER_AGENT = `secret-broker-action/${true ? "0.1.0" : "dev"}`;
var httpTransport = async (url, body, timeoutMs) => {
  const client = new HttpClient(USER_AGENT, [], { allowRedirects: false, allowRetries: false, socketTimeout: timeoutMs, keepAlive: false });
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { name: "TimeoutError" })), timeoutMs);
  });
  try {
    const res = await Promise.race([client.post(url, body, { "content-type": "application/json", accept: "application/json" }), deadline]);
    const text = await Promise.race([res.readBody(), deadline]);
    const headers = res.message.headers;
    return {
      status: res.message.statusCode ?? 0,
      header: (name) => {
        const v = headers[name.toLowerCase()];
        return typeof v === "string" ? v : null;
      },
      text: async () => text
    };
  } finally {
    clearTimeout(timer);
    client.dispose();
  }
};

// action/src/main.ts
async function run() {
  const read = readInputs((name) => getInput(name));
  if (!read.ok) return setFailed(`secret-broker: ${read.problems.join("; ")}`);
  const inputs = read.inputs;
  const subject = `secret-broker: exchange for role "${inputs.role}"`;
  const result = await exchangeToken(inputs.role, {
    brokerUrl: inputs.brokerUrl,
    grants: inputs.grants,
    getToken: () => getIdToken(inputs.audience),
    transport: httpTransport,
    timeoutMs: inputs.timeoutSeconds * 1e3,
    retries: inputs.retries,
    onRetry: (retry) => info(describeRetry("secret-broker", retry))
  });
  if (!result.ok) return setFailed(describeFailure(result, subject));
  maskResponse(result.body, (v) => setSecret(v));
  const { response } = result;
  const accountIds = response.credentials.flatMap((c) => c.type === "aws" ? awsAccountIdOf(c.role_arn) ?? [] : []);
  if (inputs.maskAwsAccountId) for (const id of accountIds) setSecret(id);
  saveState(STATE.requestId, response.request_id);
  saveState(STATE.expiresAt, response.expires_at);
  saveState(STATE.revocable, String(hasRevocable(response)));
  const env = planExports(response.credentials, inputs);
  const outputs = outputsFor(response, { credentials: inputs.outputCredentials });
  const problems = [...env.ok ? [] : env.problems, ...outputs.ok ? [] : outputs.problems];
  if (!env.ok || !outputs.ok) {
    return setFailed(
      `${subject} (request id ${response.request_id}): the credentials cannot be delivered, nothing was exported: ${problems.join("; ")}. Check the role's secret grants (their env names) or set export-env: false.`
    );
  }
  for (const [name, value] of outputs.outputs) setOutput(name, value);
  saveState(STATE.exported, JSON.stringify(env.vars.map((v) => v.name)));
  exportVariables(env.vars, (name, value) => exportVariable(name, value));
  info(describeGrant("secret-broker", response));
  if (env.vars.length) info(`secret-broker: exported ${env.vars.map((v) => v.name).join(", ")}`);
  if (response.unknown_types.length)
    warning(
      `secret-broker: this version of the action does not know credential types ${response.unknown_types.join(", ")}; they were masked but not exported`
    );
  if (process.env.GITHUB_STEP_SUMMARY)
    await summary.addRaw(summaryMarkdown(response, inputs.brokerUrl, { hide: inputs.maskAwsAccountId ? accountIds : [] })).write();
}
run().catch((err) => setFailed(`secret-broker: ${err.message}`));
