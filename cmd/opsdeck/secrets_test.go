package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/internal/engine"
	"github.com/opsdeck/opsdeck/internal/evidence/bundle"
	"github.com/opsdeck/opsdeck/internal/proto"
	"github.com/opsdeck/opsdeck/tui"
)

// TestShowSecretsEveryOutput: --show-secrets has one owner, the output.
// Real captures of logins in clear (FTP USER/PASS, HTTP Basic, POP3 and
// IMAP SASL, SMTP AUTH PLAIN and LOGIN) go through analyze with and
// without the flag, through an engine into an incident bundle, and into
// the console's protocol log: every password the credentials carry is
// masked in all of them, or shown in EVE and the console with the flag.
// Alerts never carry one (their evidence says "********" either way), so
// neither does a bundle, whose files are alerts, flows and host state.
func TestShowSecretsEveryOutput(t *testing.T) {
	for _, file := range []string{"zeek/ftp-password-pass-command.pcap", "zeek/http-basic-auth-with-colon.pcap",
		"creds/pop3-xoauth2.pcap", "creds/imap-xoauth2.pcap", "creds/smtp-auth.pcap"} {
		t.Run(file, func(t *testing.T) {
			shown, err := analyze(t, "--show-secrets", corpus(file))
			if err != nil {
				t.Fatal(err)
			}
			secrets := map[string]bool{}
			for _, r := range ofType(shown, "credential") {
				if pw := r.str("opsdeck.credential.password"); pw != "" {
					secrets[pw] = true
				}
			}
			if len(secrets) == 0 || secrets[proto.Masked] {
				t.Fatalf("--show-secrets: passwords %v", secrets)
			}
			masked, err := analyze(t, corpus(file))
			if err != nil {
				t.Fatal(err)
			}
			for _, show := range []bool{false, true} {
				recs := masked
				if show {
					recs = shown
				}
				// EVE: every string of every record.
				var eve []string
				for _, r := range recs {
					eve = append(eve, stringsOf(map[string]any(r))...)
				}
				checkSecrets(t, "EVE", show, eve, secrets)
				for _, r := range ofType(recs, "ftp") {
					if r.str("ftp.command") == "PASS" && secrets[r.str("ftp.command_data")] != show {
						t.Errorf("show %v: ftp PASS command_data %q", show, r.str("ftp.command_data"))
					}
				}
				for _, r := range ofType(recs, "alert") {
					if pw := r.str("opsdeck.evidence.password"); pw != "" && pw != proto.Masked {
						t.Errorf("an alert carries the password %q", pw)
					}
				}
			}

			// The engine, as the console and watch run it: the switch does
			// not reach it, so one run serves both.
			eng := engine.New(engine.DefaultConfig(), nil)
			replayFile(t, eng, corpus(file))
			dir, err := bundle.Write(t.TempDir(), bundle.Input{Reason: "test", Snapshot: eng.Snapshot(bundle.SnapshotOptions)})
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			for _, name := range []string{bundle.AlertsFile, bundle.FlowsFile, bundle.TalkersFile, bundle.SystemFile, bundle.SummaryFile} {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(name, ".md") {
					files = append(files, strings.FieldsFunc(string(b), func(r rune) bool { return r == ' ' || r == '\n' || r == '|' || r == '`' })...)
					continue
				}
				for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					var v any
					if err := json.Unmarshal([]byte(line), &v); err != nil && name != bundle.TalkersFile && name != bundle.SystemFile {
						t.Fatalf("%s: %v: %s", name, err, line)
					}
					files = append(files, stringsOf(v)...)
				}
				if name == bundle.TalkersFile || name == bundle.SystemFile {
					var v any
					if err := json.Unmarshal(b, &v); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					files = append(files, stringsOf(v)...)
				}
			}
			checkSecrets(t, "bundle", false, files, secrets)

			snap := eng.Snapshot(engine.SnapshotOptions{Events: 500})
			for _, show := range []bool{false, true} {
				var lines []string
				for i := range snap.Events {
					s, d := tui.EventLine(&snap.Events[i], show)
					lines = append(lines, s, d)
				}
				checkSecrets(t, "console protocol log", show, lines, secrets)
				// And on the screen: the protocol log, zoomed.
				r := lipgloss.NewRenderer(os.Stderr)
				r.SetColorProfile(termenv.Ascii)
				m, err := tui.New(tui.Options{Renderer: r, ShowSecrets: show})
				if err != nil {
					t.Fatal(err)
				}
				m.Update(tui.SnapshotMsg{Snap: snap})
				m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
				for _, k := range []string{"5", "z"} {
					m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
				}
				view := m.View()
				seen := false
				for pw := range secrets {
					seen = seen || strings.Contains(view, "password "+pw) || strings.Contains(view, "PASS "+pw)
				}
				if seen != show || strings.Contains(view, "password "+proto.Masked) == show {
					t.Errorf("show %v: the console's protocol log shows a password: %v\n%s", show, seen, view)
				}
			}
		})
	}
}

// checkSecrets fails when a password is (show false) or is never (show
// true) one of texts or the end of one ("password X", "PASS X").
func checkSecrets(t *testing.T, where string, show bool, texts []string, secrets map[string]bool) {
	t.Helper()
	found := map[string]bool{}
	for _, s := range texts {
		for pw := range secrets {
			if s == pw || strings.HasSuffix(s, " "+pw) {
				found[pw] = true
			}
		}
	}
	switch {
	case !show && len(found) > 0:
		t.Errorf("%s shows the passwords %v without --show-secrets", where, found)
	case show && len(found) == 0:
		t.Errorf("%s shows none of the passwords %v with --show-secrets", where, secrets)
	}
}

// stringsOf lists every string in a decoded JSON value.
func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsOf(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, stringsOf(e)...)
		}
		return out
	}
	return nil
}

// TestBundleFilesValidate: a bundle's alerts.json and flows.json are EVE
// lines Suricata's schema accepts (flows.json is written by the EVE
// writer's flow encoder), here from an FTP brute force with its alerts.
func TestBundleFilesValidate(t *testing.T) {
	s := suricataSchema(t)
	cfg := engine.DefaultConfig()
	cfg.CommunityIDSeed = 7
	eng := engine.New(cfg, nil)
	replayFile(t, eng, corpus("zeek/ftp-bruteforce.pcap"))
	snap := eng.Snapshot(bundle.SnapshotOptions)
	if len(snap.Alerts) == 0 || len(snap.FlowRecords) == 0 {
		t.Fatalf("%d alerts, %d flows: nothing to validate", len(snap.Alerts), len(snap.FlowRecords))
	}
	dir, err := bundle.Write(t.TempDir(), bundle.Input{Snapshot: snap, Trigger: snap.Alerts[0], CommunityIDSeed: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{bundle.AlertsFile, bundle.FlowsFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		n, problems := validateEVE(t, s, b)
		if n == 0 || len(problems) > 0 {
			t.Errorf("%s: %d lines, problems %v", name, n, problems)
		}
	}
}
