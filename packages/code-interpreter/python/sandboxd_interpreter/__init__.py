"""sandboxd's code-execution server: the HTTP API on port 49999 that the E2B code-interpreter clients talk to."""
