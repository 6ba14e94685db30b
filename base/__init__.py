"""The base layer every other package may import: the results model, cause taxonomy,
expectations, the YAML source, atomic writes, the probe's location and the tracing modes."""
