"""What the server says about itself: GET /metrics (Prometheus), the `system.metrics` topic.

`definitions` holds every metric; `state` reads the numbers only a scrape can know (queue
depths, workers alive, the mirror's lag); `exposition` adds up every process's samples.
"""
