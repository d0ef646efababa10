package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/projects"
)

// openAccounts connects to DATABASE_URL for the account commands.
func openAccounts(ctx context.Context, getenv func(string) string) (*auth.Store, func(), error) {
	pool, err := openDB(ctx, getenv)
	if err != nil {
		return nil, nil, err
	}
	return auth.NewStore(pool), pool.Close, nil
}

// readPassword reads a password from the first line of stdin, so it never
// appears in the process list or the shell history.
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	p := strings.TrimRight(line, "\r\n")
	if p == "" {
		return "", errors.New("no password on stdin: pipe it in, e.g. `web user add alice --role editor < password.txt`")
	}
	return p, nil
}

// cliEvent records a security event done from the command line.
func cliEvent(ctx context.Context, accounts *auth.Store, kind, subject, detail string) error {
	return accounts.RecordEvent(ctx, auth.Event{Kind: kind, Actor: "cli", Subject: subject, Detail: detail})
}

// userCommand is `web user add|passwd|disable|enable|list`.
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("user needs one of: add, passwd, disable, enable, grant, list")
	}
	accounts, closeDB, err := openAccounts(ctx, getenv)
	if err != nil {
		return err
	}
	defer closeDB()
	cmd, args := args[0], args[1:]
	if cmd == "list" {
		return listUsers(ctx, accounts, stdout)
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("user %s needs an account name", cmd)
	}
	name, args := args[0], args[1:]
	switch cmd {
	case "add":
		return addUser(ctx, accounts, name, args, stdin, stdout)
	case "passwd":
		return setUserPassword(ctx, accounts, name, stdin, stdout)
	case "disable", "enable":
		return setUserDisabled(ctx, accounts, name, cmd == "disable", stdout)
	case "grant":
		return grantUser(ctx, accounts, name, args, stdout)
	default:
		return fmt.Errorf("unknown user command %q", cmd)
	}
}

// listUsers is `web user list`: name, role and status of every account.
func listUsers(ctx context.Context, accounts *auth.Store, stdout io.Writer) error {
	list, err := accounts.Accounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range list {
		status := "active"
		if a.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(stdout, "%-24s %-7s %s%s\n", a.Name, a.Role, status, grantsText(a.Projects))
	}
	return nil
}

// addUser is `web user add NAME --role ROLE`, the password on stdin.
func addUser(ctx context.Context, accounts *auth.Store, name string, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	roleName := fs.String("role", "", "viewer, editor or admin")
	fs.Bool("password-stdin", true, "read the password from stdin (always)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	role, err := auth.ParseRole(*roleName)
	if err != nil {
		return errors.New("--role must be viewer, editor or admin")
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	if _, err := accounts.CreateAccount(ctx, name, password, role); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %s (%s)\n", name, role)
	return cliEvent(ctx, accounts, auth.EventAccountAdded, name, "role "+string(role))
}

// setUserPassword is `web user passwd NAME`, the password on stdin.
func setUserPassword(ctx context.Context, accounts *auth.Store, name string, stdin io.Reader, stdout io.Writer) error {
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	if err := accounts.SetPassword(ctx, name, password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password of %s changed; its sessions were ended\n", name)
	return cliEvent(ctx, accounts, auth.EventPasswordSet, name, "from the command line")
}

// setUserDisabled is `web user disable NAME` and `web user enable NAME`.
func setUserDisabled(ctx context.Context, accounts *auth.Store, name string, disabled bool, stdout io.Writer) error {
	if err := accounts.SetDisabled(ctx, name, disabled); err != nil {
		return err
	}
	verb, kind := "enabled", auth.EventEnabled
	if disabled {
		verb, kind = "disabled", auth.EventDisabled
	}
	fmt.Fprintf(stdout, "%s %s\n", verb, name)
	return cliEvent(ctx, accounts, kind, name, "")
}

// tokenCommand is `web token create ACCOUNT [--name LABEL] [--expires 90d]`:
// it prints the token, and only the token, on stdout, once.
func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "create" || strings.HasPrefix(args[1], "-") {
		return errors.New("usage: web token create ACCOUNT [--name LABEL] [--expires 90d]")
	}
	account := args[1]
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	label := fs.String("name", "cli", "what the token is for")
	expires := fs.String("expires", "90d", "lifetime: e.g. 90d, 12h; 0 for none")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	lifetime, err := parseLifetime(*expires)
	if err != nil {
		return err
	}
	accounts, closeDB, err := openAccounts(ctx, getenv)
	if err != nil {
		return err
	}
	defer closeDB()
	token, t, err := accounts.CreateToken(ctx, account, *label, lifetime)
	if err != nil {
		return err
	}
	if err := cliEvent(ctx, accounts, auth.EventTokenCreated, fmt.Sprintf("token:%d (%s) for %s", t.ID, t.Name, account), "expires "+*expires); err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}

// parseLifetime reads 90d, 12h, 30m or 0.
func parseLifetime(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("--expires %q: use e.g. 90d", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--expires %q: use e.g. 90d or 12h", v)
	}
	return d, nil
}

// grantUser is `web user grant NAME --project P --role none|viewer|editor|default`:
// the account's role in one project (default: its own role again).
func grantUser(ctx context.Context, accounts *auth.Store, name string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("user grant", flag.ContinueOnError)
	project := fs.String("project", "", "the project's name, as in the projects file")
	roleName := fs.String("role", "", "none, viewer, editor, or default (the account's own role)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !projects.ValidName(*project) {
		return errors.New("--project must name a project as the projects file does (a slug such as prod-beijing)")
	}
	var role auth.Role // "default": the grant is removed
	if *roleName != "default" {
		r, err := auth.ParseGrant(*roleName)
		if err != nil {
			return errors.New("--role must be none, viewer, editor or default: admin is console-wide (web user add/--role)")
		}
		role = r
	}
	if err := accounts.SetProjectRole(ctx, name, *project, role); err != nil {
		return err
	}
	words := auth.GrantWords(role)
	if err := cliEvent(ctx, accounts, auth.EventRoleChanged, name, "in project "+*project+" to "+words); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: in project %s, %s\n", name, *project, words)
	return nil
}

// grantsText lists an account's per-project roles for `web user list`.
func grantsText(grants map[string]auth.Role) string {
	if len(grants) == 0 {
		return ""
	}
	names := make([]string, 0, len(grants))
	for p := range grants {
		names = append(names, p)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("  projects:")
	for _, p := range names {
		name := p
		if p == auth.OtherProjects {
			name = "(every other project)"
		}
		fmt.Fprintf(&b, " %s=%s", name, grants[p])
	}
	return b.String()
}
