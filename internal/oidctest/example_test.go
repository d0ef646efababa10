package oidctest_test

import (
	"fmt"
	"log"

	"github.com/vpcep-console/vpcep-console/internal/oidctest"
)

// The console's demo mode serves the provider on a port of its own, then
// configures its OIDC client from the provider and prints the users'
// passwords (the provider itself never logs them).
func ExampleServe() {
	users := []oidctest.User{
		{Subject: "demo-alice", Username: "alice", Password: "generated-1", Name: "Alice", Groups: []string{"network-admins"}},
		{Subject: "demo-bob", Username: "bob", Password: "generated-2", Name: "Bob", Groups: []string{"network-viewers"}},
	}
	p, err := oidctest.Serve("127.0.0.1:0", oidctest.Options{
		RedirectURLs: []string{"http://localhost:8080/login/sso/callback"},
		Users:        users,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	// OIDC_ISSUER=p.URL(), OIDC_CLIENT_ID=p.ClientID(), the secret p.ClientSecret().
	fmt.Println(p.ClientID(), len(p.ClientSecret()) > 0)
	// Output: vpcep-console true
}
