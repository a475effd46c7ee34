"""The results contract: what a job writes and everything downstream reads.

One owner for each part: `files` (the names and path rules of what a job and a sweep write),
`record` (results.json, its schema version, atomic writes), `items` (per-item outputs: schema,
write, read, publish), `catalogue` (what a record says about its tasks' metrics), `aggregations`
(the functions a record names, so a metric can be recomputed from its items), `environment`
(what produced the numbers). The job and evaluation write through it; tracking and the report
read through it, never through evaluation code.
"""
