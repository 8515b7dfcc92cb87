package pep

import (
	"errors"
	"testing"
)

func submitted(t *testing.T, fields ...string) form {
	t.Helper()
	x := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>` + FormPublishOpts + `</value></field>`
	for i := 0; i+1 < len(fields); i += 2 {
		x += `<field var='` + fields[i] + `'><value>` + fields[i+1] + `</value></field>`
	}
	f, err := parseForm(parse(t, x+`</x>`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPreconditions(t *testing.T) {
	const limit = 256
	bookmarks := submitted(t, "pubsub#persist_items", "true", "pubsub#max_items", "max",
		"pubsub#send_last_published_item", "never", "pubsub#access_model", "whitelist")
	c := DefaultConfig()
	if _, err := applyForm(&c, bookmarks, limit); err != nil {
		t.Fatal(err)
	}
	if c.AccessModel != AccessWhitelist || c.MaxItems != MaxItemsMax || c.SendLastPublished != SendNever || !c.PersistItems {
		t.Fatalf("applied %+v", c)
	}
	if field, ok := preconditionsMet(c, bookmarks, limit); !ok {
		t.Fatalf("own options not met (%s)", field)
	}
	// 'max' and the limit written out are the same precondition.
	if _, ok := preconditionsMet(c, submitted(t, "pubsub#max_items", "256"), limit); !ok {
		t.Error("max_items 256 not met by 'max' with limit 256")
	}
	if _, ok := preconditionsMet(c, submitted(t, "pubsub#persist_items", "1"), limit); !ok {
		t.Error("boolean 1 not met by true")
	}
	if field, ok := preconditionsMet(DefaultConfig(), submitted(t, "pubsub#access_model", "open"), limit); ok || field != "pubsub#access_model" {
		t.Errorf("open met by the default presence model (%s)", field)
	}
	if _, ok := preconditionsMet(c, submitted(t, "pubsub#access_model", "authorize"), limit); ok {
		t.Error("an unsupported model was met")
	}
}

func TestApplyFormErrors(t *testing.T) {
	for _, tt := range []struct {
		field, value string
		want         error
	}{
		{"pubsub#unknown", "1", errUnknownField},
		{"pubsub#persist_items", "yes", errBadValue},
		{"pubsub#max_items", "-1", errBadValue},
		{"pubsub#max_items", "0", errUnsupported},
		{"pubsub#max_items", "257", errUnsupported},
		{"pubsub#access_model", "authorize", errUnsupported},
		{"pubsub#access_model", "everyone", errBadValue},
		{"pubsub#publish_model", "open", errUnsupported},
		{"pubsub#send_last_published_item", "sometimes", errBadValue},
	} {
		c := DefaultConfig()
		if field, err := applyForm(&c, submitted(t, tt.field, tt.value), 256); !errors.Is(err, tt.want) || field != tt.field {
			t.Errorf("%s=%s: %v (%s), want %v", tt.field, tt.value, err, field, tt.want)
		}
	}
}

func TestParseFormMalformed(t *testing.T) {
	for _, x := range []string{
		`<x xmlns='jabber:x:data' type='submit'><field var='a'/><field var='a'/></x>`,
		`<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>a</value><value>b</value></field></x>`,
		`<x xmlns='jabber:x:data' type='submit'><field><value>a</value></field></x>`,
	} {
		if _, err := parseForm(parse(t, x)); err == nil {
			t.Errorf("parseForm(%s) succeeded", x)
		}
	}
}

func TestConfigFormRoundTrip(t *testing.T) {
	c := DefaultConfig()
	c.AccessModel, c.RosterGroups, c.MaxItems, c.Title = AccessRoster, []string{"Friends"}, 10, "t"
	x := configForm(c, "form", []string{"Family"})
	x.SetAttr("type", "submit")
	f, err := parseForm(x)
	if err != nil {
		t.Fatal(err)
	}
	got := DefaultConfig()
	if field, err := applyForm(&got, f, 256); err != nil {
		t.Fatalf("the form does not apply to itself: %s %v", field, err)
	}
	if got.AccessModel != c.AccessModel || got.MaxItems != 10 || got.Title != "t" || len(got.RosterGroups) != 1 {
		t.Fatalf("round trip: %+v", got)
	}
}
