package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/flexapi/flexapi"
)

// userObject is the v1/v4 form of a user: its keys in Twilio's (alphabetical)
// order, which encoding/json gives a map; no url.
func userObject(u flexapi.User) map[string]any {
	return map[string]any{
		"account_sid":      u.AccountSID,
		"created_date":     Date(u.CreatedDate),
		"deactivated":      u.Deactivated(),
		"deactivated_date": Date(u.DeactivatedDate),
		"email":            u.Email,
		"flex_team_sid":    u.FlexTeamSID,
		"flex_user_sid":    u.FlexUserSID,
		"full_name":        u.FullName,
		"instance_sid":     u.InstanceSID,
		"locale":           u.Locale,
		"roles":            u.Roles,
		"updated_date":     Date(u.UpdatedDate),
		"username":         u.Username,
		"version":          u.Version,
		"worker_sid":       u.WorkerSID,
		"workspace_sid":    u.WorkspaceSID,
	}
}

// provisionedObject is Provision's answer: the user object with the worker
// nested instead of its two top-level keys.
func provisionedObject(u flexapi.User) map[string]any {
	o := userObject(u)
	delete(o, "worker_sid")
	delete(o, "workspace_sid")
	o["worker"] = map[string]any{"worker_sid": u.WorkerSID, "workspace_sid": u.WorkspaceSID}
	return o
}

// Date is a date as the wire and the files show it: RFC 3339 in UTC to the
// second, or null (nil) when unset.
func Date(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// fetchUserV4 is GET /v4/Instances/{InstanceSid}/Users/{FlexUserSid}.
func (s *server) fetchUserV4(w http.ResponseWriter, r *http.Request, key flexapi.UserKey) {
	u, err := s.store.User(r.Context(), key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, userObject(u))
}

// lookupUsers is GET /v4/Instances/{InstanceSid}/Users?Username=U: the one
// user with that exact username, or none.
func (s *server) lookupUsers(w http.ResponseWriter, r *http.Request, accountSID, instance string) {
	params, err := queryParams(r.URL.RawQuery)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !params.Has("Username") {
		s.writeError(w, r, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter Username: required"))
		return
	}
	username := params.Get("Username")
	if err := flexapi.ValidateText("Username", username, flexapi.MaxTextLength); err != nil {
		s.writeError(w, r, err)
		return
	}
	users, _, err := s.store.Users(r.Context(), flexapi.UserQuery{AccountSID: accountSID, InstanceSID: instance, Username: &username, Limit: 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := make([]any, len(users))
	for i, u := range users {
		list[i] = userObject(u)
	}
	WriteJSON(w, http.StatusOK, struct {
		AccountSID  string    `json:"account_sid"`
		InstanceSID string    `json:"instance_sid"`
		Users       []any     `json:"users"`
		Meta        tokenMeta `json:"meta"`
	}{accountSID, instance, list, tokenMeta{DirectToken: true, ListKey: "users", PageSize: defaultPageSize}})
}

// tokenMeta is the paging object of v4 lists.
type tokenMeta struct {
	DirectToken   bool    `json:"direct_token"`
	ListKey       string  `json:"list_key"`
	NextToken     *string `json:"next_token"`
	PageSize      int     `json:"page_size"`
	PreviousToken *string `json:"previous_token"`
}

// provisionUser is POST /v4/Instances/{InstanceSid}/Users/Provision: 201
// with a new user, 200 with an existing one.
func (s *server) provisionUser(w http.ResponseWriter, r *http.Request, accountSID, instance string) {
	p, err := s.readProvision(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, created, err := s.store.ProvisionUser(r.Context(), accountSID, instance, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	WriteJSON(w, status, provisionedObject(u))
}

func (s *server) readProvision(w http.ResponseWriter, r *http.Request) (flexapi.Provision, error) {
	var p flexapi.Provision
	body, err := s.parseJSON(w, r)
	if err != nil {
		return p, err
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"username", &p.Username}, {"email", &p.Email}, {"full_name", &p.FullName}} {
		if *f.dst, err = body.required(f.name); err != nil {
			return p, err
		}
	}
	raw, ok := body["roles"]
	if !ok || json.Unmarshal(raw, &p.Roles) != nil || p.Roles == nil {
		return p, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter roles: required, a list of Flex roles such as [\"agent\"]")
	}
	worker, ok := body["worker"]
	var w2 map[string]json.RawMessage
	if !ok || json.Unmarshal(worker, &w2) != nil || w2 == nil {
		return p, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter worker: required, a JSON object such as {} or {\"attributes\": {...}}")
	}
	if attrs, ok := w2["attributes"]; ok && string(attrs) != "null" {
		var compact bytes.Buffer
		if json.Compact(&compact, attrs) != nil || !bytes.HasPrefix(compact.Bytes(), []byte("{")) {
			return p, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter worker.attributes: must be a JSON object")
		}
		p.WorkerAttributes = compact.String()
	}
	return p, p.Validate()
}

// deprovisionUser is POST /v4/Instances/{InstanceSid}/Users/Deprovision.
func (s *server) deprovisionUser(w http.ResponseWriter, r *http.Request, accountSID, instance string) {
	body, err := s.parseJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sid, err := body.required("flex_user_sid")
	if err == nil {
		sid, err = flexapi.ValidateSID("flex_user_sid", flexapi.FlexUserPrefix, sid)
	}
	if err == nil {
		err = s.store.DeprovisionUser(r.Context(), flexapi.UserKey{AccountSID: accountSID, InstanceSID: instance, FlexUserSID: sid})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Bounds of a Flex token's time to live, in seconds.
const (
	defaultTokenTTL = 3600
	maxTokenTTL     = 86400
)

// createToken is POST /v4/Instances/{InstanceSid}/Users/{FlexUserSid}/Tokens:
// an opaque random access token for an active user, and what it is for.
func (s *server) createToken(w http.ResponseWriter, r *http.Request, key flexapi.UserKey) {
	body, err := s.parseJSON(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ttl := defaultTokenTTL
	if raw, ok := body["ttl"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &ttl) != nil || ttl < 1 || ttl > maxTokenTTL {
			s.writeError(w, r, flexapi.Errorf(flexapi.EINVALID, "Invalid parameter ttl: must be a whole number of seconds from 1 to %d", maxTokenTTL))
			return
		}
	}
	u, err := s.store.User(r.Context(), key)
	if err == nil && u.Deactivated() {
		err = flexapi.Errorf(flexapi.EINVALID, "Invalid parameter FlexUserSid: user %s is deactivated", u.FlexUserSID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	username := ""
	if u.Username != nil {
		username = *u.Username
	}
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	WriteJSON(w, http.StatusCreated, map[string]any{
		"access_token": flexapi.NewSecret() + flexapi.NewSecret(),
		"token_info": map[string]any{
			"account_sid":       u.AccountSID,
			"expiration":        time.Now().UTC().Add(time.Duration(ttl) * time.Second).Truncate(time.Second).Format(time.RFC3339),
			"flex_instance_sid": u.InstanceSID,
			"flex_user_sid":     u.FlexUserSID,
			"identity":          username,
			"permissions":       []string{},
			"roles":             roles,
			"username":          username,
		},
	})
}

// teamObject is a team as the v1 Teams API shows it, in the order of
// Twilio's page.
type teamObject struct {
	TeamSID       string  `json:"team_sid"`
	AccountSID    string  `json:"account_sid"`
	InstanceSID   string  `json:"instance_sid"`
	FriendlyName  string  `json:"friendly_name"`
	MemberCount   int     `json:"member_count"`
	Description   *string `json:"description"`
	Level         int     `json:"level"`
	ParentTeamSID *string `json:"parent_team_sid"`
	DateCreated   any     `json:"date_created"`
	DateUpdated   any     `json:"date_updated"`
	Version       int64   `json:"version"`
}

func newTeamObject(t flexapi.Team) teamObject {
	return teamObject{TeamSID: t.SID, AccountSID: t.AccountSID, InstanceSID: t.InstanceSID, FriendlyName: t.FriendlyName,
		MemberCount: t.MemberCount, Description: t.Description, DateCreated: Date(t.CreatedDate),
		DateUpdated: Date(t.UpdatedDate), Version: t.Version}
}

// listTeams is GET /v1/Instances/{InstanceSid}/Teams: every team, on one page.
func (s *server) listTeams(w http.ResponseWriter, r *http.Request, accountSID, instance string) {
	teams, err := s.store.Teams(r.Context(), accountSID, instance)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := make([]teamObject, len(teams))
	for i, t := range teams {
		list[i] = newTeamObject(t)
	}
	page := s.baseURL(r) + r.URL.Path + "?PageSize=" + strconv.Itoa(maxPageSize) + "&Page=0"
	WriteJSON(w, http.StatusOK, struct {
		Teams []teamObject `json:"teams"`
		Meta  listMeta     `json:"meta"`
	}{list, listMeta{PageSize: maxPageSize, FirstPageURL: page, URL: page, Key: "teams"}})
}

// fetchTeam is GET /v1/Instances/{InstanceSid}/Teams/{TeamSid}.
func (s *server) fetchTeam(w http.ResponseWriter, r *http.Request, accountSID, instance string) {
	sid, ok := flexapi.ParseSID(flexapi.FlexTeamPrefix, r.PathValue("TeamSid"))
	if !ok {
		NotFound(w, r)
		return
	}
	t, err := s.store.Team(r.Context(), accountSID, instance, sid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, newTeamObject(t))
}

// configurationFields are the keys of Twilio's Flex configuration, in the
// order of its schema; flexapi knows the first few and answers null for the
// rest.
var configurationFields = []string{"account_sid", "date_created", "date_updated", "attributes", "status",
	"taskrouter_workspace_sid", "taskrouter_target_workflow_sid", "taskrouter_target_taskqueue_sid", "taskrouter_taskqueues",
	"taskrouter_skills", "taskrouter_worker_channels", "taskrouter_worker_attributes", "taskrouter_offline_activity_sid",
	"runtime_domain", "messaging_service_instance_sid", "chat_service_instance_sid", "flex_service_instance_sid",
	"flex_instance_sid", "ui_language", "ui_attributes", "ui_dependencies", "ui_version", "service_version",
	"call_recording_enabled", "call_recording_webhook_url", "crm_enabled", "crm_type", "crm_callback_url",
	"crm_fallback_url", "crm_attributes", "public_attributes", "plugin_service_enabled", "plugin_service_attributes",
	"integrations", "outbound_call_flows", "serverless_service_sids", "queue_stats_configuration", "notifications",
	"markdown", "url", "flex_insights_hr", "flex_insights_drilldown", "flex_url", "channel_configs",
	"debugger_integration", "flex_ui_status_report", "agent_conv_end_methods", "citrix_voice_vdi", "offline_config"}

// fetchConfiguration is GET /v1/Configuration: the account's Flex
// configuration as far as flexapi knows it.
func (s *server) fetchConfiguration(w http.ResponseWriter, r *http.Request, accountSID string) {
	in, err := s.store.AccountInstance(r.Context(), accountSID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	known := map[string]any{
		"account_sid": accountSID, "date_created": Date(in.CreatedDate), "date_updated": Date(in.CreatedDate),
		"status": "ok", "taskrouter_workspace_sid": in.WorkspaceSID, "flex_instance_sid": in.SID,
		"url": s.baseURL(r) + "/v1/Configuration",
	}
	b := []byte{'{'}
	for i, k := range configurationFields {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
		v, err := json.Marshal(known[k])
		if err != nil {
			panic(err) // strings and nil only
		}
		b = append(b, v...)
	}
	writeBody(w, http.StatusOK, append(b, '}'))
}
