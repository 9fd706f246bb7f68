package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/eve"
	"github.com/opsdeck/opsdeck/internal/pump"
)

// cmdAnalyze reads capture files as fast as it can and writes EVE JSON lines.
func cmdAnalyze(args []string, stdout io.Writer) error {
	var o options
	fs := newFlagSet("analyze", "opsdeck analyze [flags] FILE... [capture filter]", os.Stderr)
	o.register(fs, true)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageExit(err)
	}
	var files []string
	for len(pos) > 0 && isPath(pos[0]) {
		files, pos = append(files, pos[0]), pos[1:]
	}
	if o.read != "" {
		files = append([]string{o.read}, files...)
	}
	if len(files) == 0 {
		if len(pos) > 0 {
			return &exitError{code: 2, err: fmt.Errorf("analyze: no capture file: %q does not exist", pos[0])}
		}
		return &exitError{code: 2, err: errors.New("analyze: no capture file given (usage: opsdeck analyze FILE... [filter])")}
	}
	o.filter = strings.Join(pos, " ")
	o.given(fs)

	full, err := loadFullConfig(o.configPath)
	if err != nil {
		return err
	}
	ecf, err := o.eveOptions(full.EVE)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("analyze: %w", err)}
	}
	if o.writePcap == "-" && (o.output == "" || o.output == "-") {
		return &exitError{code: 2, err: errors.New("analyze: -w - writes pcap to stdout, where EVE goes too: send EVE elsewhere with -o FILE")}
	}
	out := stdout
	if network, sock, ok := socketSpec(o.output); ok {
		so, err := openSocketOut(network, sock, true)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		defer func() {
			if cerr := so.Close(); cerr != nil {
				fmt.Fprintln(os.Stderr, "opsdeck: analyze:", cerr)
			}
		}()
		out = so
	} else if o.output != "" && o.output != "-" {
		f, err := os.OpenFile(o.output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, ecf.FileMode)
		if err != nil {
			return fmt.Errorf("analyze: open output: %w", err)
		}
		defer f.Close()
		out = f
	}
	ecfg := o.engineConfig(engineConfigFrom(full))
	ecfg.Headless = true
	w := eve.NewWriter(out)
	w.FileInput = true
	o.setupWriter(w, ecf)
	eng := engine.New(ecfg, w)

	flt, err := pump.NewFilter(o.filter)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	var pcap *pcapOut
	if o.writePcap != "" {
		if pcap, err = openPcapOut(o.writePcap, o.snaplen); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	// Nothing else reads the engine: Exclusive takes its lock once for a
	// run of frames instead of once per frame.
	po := pump.Options{Input: &pump.Files{Names: files}, Exclusive: true, Filter: flt, Count: o.count}
	if pcap != nil {
		po.Frame = pcap.write
	}
	p := pump.New(eng, po)
	runErr := p.Run(context.Background())
	for _, err := range unjoin(runErr) {
		fmt.Fprintln(os.Stderr, "opsdeck:", err)
	}
	if err := pcap.close(); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck: analyze:", err)
		runErr = errors.Join(runErr, err)
	}
	writeHeapProfile()
	eng.Finish()
	st := p.Stats(nil)
	st.Write(w)
	if err := w.Flush(); err != nil {
		return fmt.Errorf("analyze: write output: %w", err)
	}
	if runErr != nil {
		return &exitError{code: 1}
	}
	return nil
}

// writeHeapProfile writes a heap profile to $OPSDECK_MEMPROFILE, when set,
// at the end of the input and before the flows still open are ended: the
// tables are as full as the capture made them (go tool pprof
// -sample_index=inuse_space FILE shows what is held).
func writeHeapProfile() {
	path := os.Getenv("OPSDECK_MEMPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck: heap profile:", err)
		return
	}
	defer f.Close()
	runtime.GC() // the profile's in-use figures are those of the last collection
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "opsdeck: heap profile:", err)
	}
}

// unjoin lists the errors errors.Join joined (err alone otherwise).
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
