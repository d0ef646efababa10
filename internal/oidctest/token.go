package oidctest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// accessGrant is what an access token stands for at the userinfo endpoint.
type accessGrant struct {
	username string
	scopes   []string
	expires  time.Time
}

// tokenError is an error response of the token endpoint (RFC 6749 5.2).
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// token is the token endpoint: the authorization code grant only, the
// client authenticated by client_secret_basic or client_secret_post, PKCE
// S256 verified. A code is consumed by its first redemption, good or bad.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.tokenRequests++
	p.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", "the body is not a form"})
		return
	}
	form := r.PostForm
	clientID, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: both parts are form-encoded before Basic.
		clientID, _ = url.QueryUnescape(clientID)
		secret, _ = url.QueryUnescape(secret)
		if form.Get("client_secret") != "" {
			writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", "use one client authentication method"})
			return
		}
	} else {
		clientID, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if clientID != p.clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.clientSecret)) != 1 {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		}
		writeJSON(w, http.StatusUnauthorized, tokenError{"invalid_client", "client authentication failed"})
		return
	}
	if form.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, tokenError{"unsupported_grant_type", "only authorization_code is supported"})
		return
	}

	p.mu.Lock()
	g, ok := p.codes[form.Get("code")]
	delete(p.codes, form.Get("code"))
	p.mu.Unlock()
	switch {
	case !ok:
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "the code is unknown or was already used"})
		return
	case !p.now().Before(g.expires):
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "the code has expired"})
		return
	case g.req.clientID != clientID:
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "the code was issued to another client"})
		return
	case form.Get("redirect_uri") != g.req.redirectURI:
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "redirect_uri differs from the authorization request's"})
		return
	case !verifyPKCE(form.Get("code_verifier"), g.req.challenge):
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "the code_verifier does not match the code_challenge"})
		return
	}

	resp, err := p.issueTokens(g)
	if err != nil {
		p.log.Error("oidctest: issue tokens", "err", err)
		writeJSON(w, http.StatusInternalServerError, tokenError{"server_error", "could not sign the ID token"})
		return
	}
	p.log.Info("oidctest: tokens issued", "username", g.username)
	writeJSON(w, http.StatusOK, resp)
}

// verifyPKCE checks a code_verifier (RFC 7636 4.1: 43 to 128 unreserved
// characters) against an S256 challenge.
func verifyPKCE(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, ch := range verifier {
		if !isBase64URL(ch) && ch != '.' && ch != '~' {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in,omitempty"`
	IDToken     string `json:"id_token"`
	Scope       string `json:"scope"`
}

// issueTokens makes the access token and the signed ID token for a
// redeemed code, applying the fault knobs.
func (p *Provider) issueTokens(g *codeGrant) (*tokenResponse, error) {
	access := rand.Text() + rand.Text()
	p.mu.Lock()
	u, ok := p.users[g.username]
	if !ok {
		p.mu.Unlock()
		return nil, fmt.Errorf("user %q is gone", g.username)
	}
	user := *u
	user.Groups = slices.Clone(u.Groups)
	iss := p.tokenIssuer
	if iss == "" {
		iss = p.announcedIssuer()
	}
	aud := p.audience
	if aud == "" {
		aud = p.clientID
	}
	nonce := p.nonce
	if nonce == "" {
		nonce = g.req.nonce
	}
	lifetime, skew, tamper, key := p.expiresIn, p.skew, p.tamper, p.keys[0]
	realNow := p.now()
	p.accessTokens[access] = &accessGrant{username: g.username, scopes: g.req.scopes, expires: realNow.Add(lifetime)}
	p.mu.Unlock()

	now := realNow.Add(skew) // the time as the provider's skewed clock says
	claims := p.userClaims(user, g.req.scopes, !p.groupsOnlyUI)
	claims["iss"] = iss
	claims["aud"] = aud
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(lifetime).Unix()
	claims["auth_time"] = g.authTime.Add(skew).Unix()
	claims["at_hash"] = atHash(access)
	if nonce != "" {
		claims["nonce"] = nonce
	}
	idToken, err := jwt.Signed(key.signer).Claims(claims).Serialize()
	if err != nil {
		return nil, err
	}
	if tamper {
		if idToken, err = tamperPayload(idToken); err != nil {
			return nil, err
		}
	}
	resp := &tokenResponse{AccessToken: access, TokenType: "Bearer", IDToken: idToken, Scope: strings.Join(g.req.scopes, " ")}
	if s := int64(lifetime / time.Second); s > 0 {
		resp.ExpiresIn = s
	}
	return resp, nil
}

// userClaims are the claims about user the scopes allow (OpenID Connect
// Core 5.4); groups are given whatever the scopes, as providers configured
// for group-based access do.
func (p *Provider) userClaims(user User, scopes []string, groups bool) map[string]any {
	c := map[string]any{"sub": user.Subject}
	if slices.Contains(scopes, "profile") {
		c["name"] = user.Name
		c["preferred_username"] = user.Username
	}
	if slices.Contains(scopes, "email") && user.Email != "" {
		c["email"] = user.Email
		c["email_verified"] = true
	}
	if groups {
		c[p.groupsClaim] = append([]string{}, user.Groups...) // [] rather than null
	}
	return c
}

// atHash is the at_hash claim for an RS256 ID token (OpenID Connect Core 3.1.3.6).
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// tamperPayload changes a signed token's claims after signing, as an
// attacker granting themselves a group would.
func tamperPayload(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		return "", err
	}
	claims["tampered"] = true
	raw, err = json.Marshal(claims)
	if err != nil {
		return "", err
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, "."), nil
}

// userinfo is the userinfo endpoint (OpenID Connect Core 5.3): the claims
// of the access token's user, as its scopes allow.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && r.Method == http.MethodPost {
		token = r.PostFormValue("access_token")
	}
	p.mu.Lock()
	a := p.accessTokens[token]
	var user User
	if a != nil && p.now().Before(a.expires) && p.users[a.username] != nil {
		user = *p.users[a.username]
		user.Groups = slices.Clone(user.Groups)
	} else {
		a = nil
	}
	p.mu.Unlock()
	if token == "" || a == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, tokenError{"invalid_token", "the access token is unknown or expired"})
		return
	}
	writeJSON(w, http.StatusOK, p.userClaims(user, a.scopes, true))
}
