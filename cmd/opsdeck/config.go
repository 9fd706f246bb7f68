package main

import (
	"encoding/json"
	"io"

	"github.com/opsdeck/opsdeck/internal/engine"
)

// loadConfig returns the engine configuration: defaults, then the file.
func loadConfig(path string) (engine.Config, error) {
	cfg := engine.DefaultConfig()
	_ = path // the configuration file arrives with the config issue
	return cfg, nil
}

// engineConfig applies the command-line flags over the configuration.
func (o *options) engineConfig(cfg engine.Config) engine.Config {
	if o.maxFlows > 0 {
		cfg.Flow.MaxFlows = o.maxFlows
	}
	cfg.Detection = !o.noDetect
	cfg.Extraction = !o.noExtract
	cfg.EmitFlows = !o.noFlows
	cfg.AlertsOnly = o.alertsOnly
	cfg.Proto.ShowSecrets = o.showSecrets
	return cfg
}

func cmdConfig(args []string, out io.Writer) error {
	cfg, err := loadConfig("")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(cfg)
}
