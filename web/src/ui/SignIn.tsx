// Sign-in with a token (a JWT or an API key) for edges that require one. The
// token stays in this tab's session storage, never in the URL of the page.

import { useState } from "react";

interface Props {
  refused?: string; // why the edge refused the last credential
  hasToken: boolean;
  onToken(token: string | undefined): void;
}

export function SignIn({ refused, hasToken, onToken }: Props) {
  const [open, setOpen] = useState(false);
  const [token, setToken] = useState("");
  if (!refused && !open) {
    return (
      <button className="signin-toggle" onClick={() => setOpen(true)}>
        {hasToken ? "change token" : "sign in"}
      </button>
    );
  }
  return (
    <form
      className="signin"
      data-testid="signin"
      onSubmit={(e) => {
        e.preventDefault();
        onToken(token.trim() || undefined);
        setOpen(false);
        setToken("");
      }}
    >
      {refused && (
        <div className="refused" role="alert">
          The edge refused the connection: {refused}. Sign in with a valid token.
        </div>
      )}
      <input
        name="token"
        type="password"
        autoComplete="off"
        placeholder="token (JWT or API key)"
        value={token}
        onChange={(e) => setToken(e.target.value)}
      />
      <button type="submit">sign in</button>
      {hasToken && <button type="button" onClick={() => { onToken(undefined); setOpen(false); }}>sign out</button>}
      {!refused && <button type="button" onClick={() => setOpen(false)}>cancel</button>}
    </form>
  );
}
