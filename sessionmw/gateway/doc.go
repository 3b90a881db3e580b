// Package gateway holds the presets and request glue that let sessionmw
// stand in for the session plugins of API gateways: the seed gateway's
// LoadSessionMiddleware and MapSessionToHeaderMiddleware (LoadSession,
// MapSessionToHeader) and Kong's session plugin (Kong), together with the
// pieces a gateway puts around them: Kong's key-auth (KeyAuth, which logs
// sessions in and sets the X-Consumer-* headers), its request-termination
// (RequestTermination, Respond) and a reverse proxy to an upstream
// (Forward). Everything here is built on sessionmw's public API; package
// sessionmw/config loads the gateway's YAML on top of it, cmd/sessiongw
// serves it, and docs/ has the migration guides.
package gateway
