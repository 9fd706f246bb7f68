package main

import (
	"io"
	"os"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/internal/engine"
)

// loadFullConfig reads the configuration file (path "" = the default
// location, where a missing file means defaults). Its errors name the file,
// line and column and exit with status 2, like a usage error.
func loadFullConfig(path string) (*config.Config, error) {
	c, err := config.Load(path)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return c, nil
}

// loadConfig returns the engine configuration: defaults, then the file.
func loadConfig(path string) (engine.Config, error) {
	c, err := loadFullConfig(path)
	if err != nil {
		return engine.Config{}, err
	}
	return engineConfigFrom(c), nil
}

// engineConfigFrom maps the file's settings onto the engine's.
func engineConfigFrom(c *config.Config) engine.Config {
	cfg := engine.DefaultConfig()
	cfg.Flow = c.Flow
	cfg.Detect = c.Detect
	if len(c.Allow) > 0 {
		cfg.Mute = c.Allowed
	}
	return cfg
}

// engineConfig applies the command-line flags over the configuration.
func (o *options) engineConfig(cfg engine.Config) engine.Config {
	if o.maxFlows > 0 {
		cfg.Flow.MaxFlows = o.maxFlows
	}
	cfg.Detection = !o.noDetect
	cfg.Extraction = !o.noExtract
	cfg.CommunityIDSeed = uint16(o.seed)
	return cfg
}

// cmdConfig prints the effective configuration as TOML, defaults included;
// the output is a valid configuration file.
func cmdConfig(args []string, out io.Writer) error {
	var path string
	fs := newFlagSet("config", "opsdeck config [--config FILE]", os.Stderr)
	fs.StringVar(&path, "config", "", "configuration `FILE` (default $XDG_CONFIG_HOME/opsdeck/config.toml)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	c, err := loadFullConfig(path)
	if err != nil {
		return err
	}
	b, err := c.Encode()
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}
