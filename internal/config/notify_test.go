package config

import (
	"strings"
	"testing"

	"maillon/internal/secret"
)

func TestNotifyConfig(t *testing.T) {
	base := "database: /tmp/x.db\nsecret_key: " + secret.NewKey() + "\n"
	good := base + `notify:
  email: {smtp: "relay.example.org:587", from: "NOC <noc@example.org>", tls: starttls}
  channels:
    - {name: ops, type: email, to: [ops@example.org]}
    - {name: mx, type: matrix, homeserver: "https://matrix.example.org", room: "!abc:example.org", access_token_file: /etc/maillon/mx}
    - {name: sms, type: sms, method: GET, url: "https://smsapi.example/send?user=1&msg={text}", to: ["+33600000000"]}
    - {name: hook, type: webhook, url: "https://hooks.example.org/x"}
`
	cfg, err := Load(write(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Notify.Channels) != 4 || cfg.Notify.Email.TLS != "starttls" {
		t.Errorf("notify %+v", cfg.Notify)
	}
	bad := map[string]string{
		"notify:\n  email: {smtp: relay, from: noc@example.org}":                                                         "notify.email.smtp",
		"notify:\n  email: {smtp: 'relay:25', from: 'not an address'}":                                                   "notify.email.from",
		"notify:\n  email: {smtp: 'relay:25', from: noc@example.org, tls: maybe}":                                        "notify.email.tls",
		"notify:\n  channels: [{name: ops, type: email, to: [a@example.org]}]":                                           "notify.email.smtp",
		"notify:\n  channels: [{name: x, type: pigeon}]":                                                                 "pigeon",
		"notify:\n  channels: [{type: webhook, url: 'https://x'}]":                                                       "name is required",
		"notify:\n  channels: [{name: a, type: webhook, url: 'https://x'}, {name: a, type: webhook, url: 'https://y'}]":  "twice",
		"notify:\n  channels: [{name: m, type: matrix, homeserver: 'https://m', room: '#ops:m', access_token_file: /x}]": "room id",
		"notify:\n  channels: [{name: s, type: sms, url: 'https://gw/{text}'}]":                                          "phone numbers",
		"notify:\n  channels: [{name: w, type: webhook, url: 'ftp://x'}]":                                                "http(s) URL",
	}
	for body, want := range bad {
		_, err := Load(write(t, base+body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to mention %q", body, err, want)
		}
	}
}
