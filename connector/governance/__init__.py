"""The governance domain: plain data in, decisions and events out. No Flask, no database, no HTTP."""
