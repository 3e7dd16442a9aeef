// The client-facing servers: what the runtime (lib/replica, bin/) starts.
export { startRespServer, parseAddr, type RespServer, type RespServerOptions } from './resp/resp-server.js'
export { respLimitsDefault, type RespLimits } from './resp/resp-limits.js'
export { startHttpServer, httpBodyBytesMaxDefault, httpLimitsDefault, type HttpLimits, type HttpServer, type HttpServerOptions } from './http/http-server.js'
export { type ClientTlsOptions } from './client-tls.js'
