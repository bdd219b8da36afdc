package flexapi

import "time"

// The reference page's example, which `flexapi serve --demo` serves.
const (
	DemoAccountSID  = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	DemoInstanceSID = "GOaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	DemoFlexUserSID = "FUaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
)

// DemoUser returns the reference page's example user, with its values and dates.
func DemoUser() User {
	s := func(v string) *string { return &v }
	date := time.Date(2024, 7, 31, 4, 0, 0, 0, time.UTC)
	return User{
		AccountSID:   DemoAccountSID,
		InstanceSID:  DemoInstanceSID,
		FlexUserSID:  DemoFlexUserSID,
		UserSID:      s("USaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		WorkerSID:    s("WKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		WorkspaceSID: s("WSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		FlexTeamSID:  s("QOaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		Username:     s("username"),
		Email:        s("sample@example.com"),
		Locale:       s("en-US"),
		Roles:        []string{"agent"},
		CreatedDate:  date,
		UpdatedDate:  date,
		Version:      1,
	}
}
