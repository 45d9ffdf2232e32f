package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"maillon/internal/registry"
)

// Entity names an API collection together with its object type T and its
// input type I, so that the generic helpers check what they are given:
// client.Create(ctx, c, client.Members, registry.MemberInput{...}) returns a
// registry.Member. Entity[json.RawMessage, json.RawMessage] reads and writes
// a collection without decoding it.
type Entity[T, I any] struct {
	// Path is the collection's path segment below /api/v1, e.g. "members".
	Path string
}

// The registry's collections.
var (
	Members       = Entity[registry.Member, registry.MemberInput]{"members"}
	Subscriptions = Entity[registry.Subscription, registry.SubscriptionInput]{"subscriptions"}
	Prefixes      = Entity[registry.Prefix, registry.PrefixInput]{"prefixes"}
	NASes         = Entity[registry.NAS, registry.NASInput]{"nas"}
	Sites         = Entity[registry.Site, registry.SiteInput]{"sites"}
	Hosts         = Entity[registry.Host, registry.HostInput]{"hosts"}
	Ports         = Entity[registry.Port, registry.PortInput]{"ports"}
	CPEs          = Entity[registry.CPE, registry.CPEInput]{"cpes"}
	Admins        = Entity[registry.Admin, registry.AdminInput]{"admins"}
)

// Raw is the untyped view of a collection: objects stay as the API wrote them.
func Raw(path string) Entity[json.RawMessage, json.RawMessage] {
	return Entity[json.RawMessage, json.RawMessage]{Path: path}
}

func (e Entity[T, I]) collection() string { return "/api/v1/" + e.Path }

// item is the path of one object; refs are escaped so that a login with a
// slash or an IPv6 address stays one path segment.
func (e Entity[T, I]) item(ref string) string {
	return e.collection() + "/" + url.PathEscape(ref)
}

// ListOptions filters a listing. Zero fields are not sent.
type ListOptions struct {
	Search string
	State  string
	Limit  int
	Offset int
	// MemberID and Kind filter subscriptions; HostID filters ports.
	MemberID int64
	Kind     string
	HostID   int64
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	add := func(k, v string) {
		if v != "" && v != "0" {
			q.Set(k, v)
		}
	}
	add("search", o.Search)
	add("state", o.State)
	add("limit", strconv.Itoa(o.Limit))
	add("offset", strconv.Itoa(o.Offset))
	add("member_id", strconv.FormatInt(o.MemberID, 10))
	add("kind", o.Kind)
	add("host_id", strconv.FormatInt(o.HostID, 10))
	return q
}

type listResponse[T any] struct {
	Items []T `json:"items"`
}

// List returns the objects of a collection that match opt.
func List[T, I any](ctx context.Context, c *Client, e Entity[T, I], opt ListOptions) ([]T, error) {
	var out listResponse[T]
	if err := c.Do(ctx, http.MethodGet, e.collection(), opt.query(), nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// Get returns the object ref names: an id, or whatever else the collection
// accepts (a member's email, login, IP or MAC; a site's name...).
func Get[T, I any](ctx context.Context, c *Client, e Entity[T, I], ref string) (T, error) {
	var out T
	err := c.Do(ctx, http.MethodGet, e.item(ref), nil, nil, &out)
	return out, err
}

// Create adds an object and returns it as the registry stored it.
func Create[T, I any](ctx context.Context, c *Client, e Entity[T, I], in I) (T, error) {
	var out T
	err := c.Do(ctx, http.MethodPost, e.collection(), nil, in, &out)
	return out, err
}

// Update changes the fields set in in and returns the object.
func Update[T, I any](ctx context.Context, c *Client, e Entity[T, I], ref string, in I) (T, error) {
	var out T
	err := c.Do(ctx, http.MethodPatch, e.item(ref), nil, in, &out)
	return out, err
}

// Delete removes the object ref names.
func Delete[T, I any](ctx context.Context, c *Client, e Entity[T, I], ref string) error {
	return c.Do(ctx, http.MethodDelete, e.item(ref), nil, nil, nil)
}

// Audit lists audit-log entries, newest first.
func (c *Client) Audit(ctx context.Context, f registry.AuditFilter) ([]registry.AuditEntry, error) {
	var out listResponse[registry.AuditEntry]
	err := c.Do(ctx, http.MethodGet, "/api/v1/audit", auditQuery(f), nil, &out)
	return out.Items, err
}

func auditQuery(f registry.AuditFilter) url.Values {
	q := url.Values{}
	if f.Entity != "" {
		q.Set("entity", f.Entity)
	}
	if f.EntityID != 0 {
		q.Set("entity_id", strconv.FormatInt(f.EntityID, 10))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// NewToken is an API token as issued: Token is shown this once.
type NewToken struct {
	Token string         `json:"token"`
	Info  registry.Token `json:"info"`
}

// CreateToken issues an API token for the admin adminRef names (id, name or
// email). ttl is a duration the daemon reads ("720h", "90d"); empty means
// the token does not expire.
func (c *Client) CreateToken(ctx context.Context, adminRef, name, ttl string) (NewToken, error) {
	var out NewToken
	body := struct {
		Name string `json:"name"`
		TTL  string `json:"ttl,omitempty"`
	}{name, ttl}
	err := c.Do(ctx, http.MethodPost, Admins.item(adminRef)+"/tokens", nil, body, &out)
	return out, err
}

// RevokeToken deletes an API token by id.
func (c *Client) RevokeToken(ctx context.Context, id int64) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/tokens/"+strconv.FormatInt(id, 10), nil, nil, nil)
}
