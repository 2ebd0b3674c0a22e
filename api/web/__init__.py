"""Web pages under ``/``, in Chinese: server-rendered, signed in with a session, working offline."""
