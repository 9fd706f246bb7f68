package main

import "github.com/opsdeck/opsdeck/internal/pump"

// demoSource is --demo's traffic: a few hundred packets a second of
// browsing with an attack episode (scan, brute force, DNS tunnel,
// cleartext FTP) every few seconds, so every pane of the console is alive
// within ten seconds.
func demoSource() *pump.Demo {
	return &pump.Demo{PPS: 400, AttackEvery: 2000, Clients: 20}
}
