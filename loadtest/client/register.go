package client

import (
	"context"
	"fmt"
	"time"
)

// Register creates the account o.User with o.Password by in-band
// registration (XEP-0077 §3.1) on a connection of its own. An account
// that exists already (conflict) is not an error: load runs reuse them.
func Register(ctx context.Context, o Options) error {
	c, err := connect(ctx, &o)
	if err != nil {
		return err
	}
	defer c.tr.close()
	iq := "<iq xmlns='jabber:client' type='set' id='reg1'><query xmlns='jabber:iq:register'><username>" +
		escape(o.User) + "</username><password>" + escape(o.Password) + "</password></query></iq>"
	if err := c.sendNow(iq); err != nil {
		return fail(KindRegister, err)
	}
	el, err := c.iqAnswer("reg1")
	if err != nil {
		return fail(KindRegister, err)
	}
	if el.Attr("type") != "result" {
		cond := stanzaCondition(el)
		if cond == "conflict" {
			return nil
		}
		return failDetail(KindRegister, cond, fmt.Errorf("registration of %s refused: %s", o.User, el))
	}
	c.tr.setDeadline(time.Now().Add(time.Second))
	c.sendNow(c.tr.footer())
	return nil
}
