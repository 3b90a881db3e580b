//go:build race

package sessionmw

const raceEnabled = true
