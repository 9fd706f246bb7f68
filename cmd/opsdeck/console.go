package main

import "errors"

func cmdConsole(args []string) error {
	return errors.New("console: not built yet")
}

func cmdWatch(args []string) error {
	return errors.New("watch: not built yet")
}
