package web

// oidcLogin is single sign-on through the ISP's OpenID Connect provider.
type oidcLogin struct {
	label string
}
