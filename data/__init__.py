"""The NSER warehouse: schema and field catalogue, reference geography, synthetic generator, ingest.

Only this package's builders and the cube gateway open DuckDB; everything else asks the gateway.
"""
