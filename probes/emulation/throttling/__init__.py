"""How a network's speed and a device's CPU are imposed on a page (``cdp``: Chromium DevTools)."""
