// Package flexapiuser is an application as a user of flexapi writes it: it
// calls Twilio's Flex API with twilio-go, and its tests point that client at
// flexapitest. It lives in a module of its own, with a replace to this
// checkout, to prove that flexapitest works from outside flexapi's module.
package flexapiuser

import (
	"github.com/twilio/twilio-go"
	flex "github.com/twilio/twilio-go/rest/flex/v2"
)

// Relocale moves a Flex user to a new locale and returns its version after.
func Relocale(tw *twilio.RestClient, instance, user, locale string) (int, error) {
	u, err := tw.FlexV2.UpdateFlexUser(instance, user, (&flex.UpdateFlexUserParams{}).SetLocale(locale))
	if err != nil {
		return 0, err
	}
	return u.Version, nil
}
