"""Third-party browser scripts shipped as package files (offline at run time); see README.md here."""
