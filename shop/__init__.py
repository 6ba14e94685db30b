"""The embedded demo H5 shop: the default probe target and the test server.

``from orderprobe.shop.server import DemoShop`` starts it (shop + payment origins) on loopback.
See ``shop/README.md`` for routes, accounts, products, test ids and faults.
"""
