"""The OAuth client the tests register at every emulator."""

CLIENT_ID = "portal-client-id"
CLIENT_SECRET = "portal-client-secret-4f1a9"
