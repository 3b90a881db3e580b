// Package gateway holds the presets and request glue that let sessionmw
// stand in for the session plugins of API gateways: the seed gateway's
// LoadSessionMiddleware and MapSessionToHeaderMiddleware (LoadSession,
// MapSessionToHeader) and Kong's session plugin (Kong). Everything here is
// built on sessionmw's public API; package sessionmw/config loads the
// gateway's YAML on top of it, and docs/ has the migration guides.
package gateway
