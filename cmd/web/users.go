package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/auth"
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
		return errors.New("user needs one of: add, passwd, disable, enable, list")
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
		fmt.Fprintf(stdout, "%-24s %-7s %s\n", a.Name, a.Role, status)
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
