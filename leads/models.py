"""Traffic and leads: clicks, impressions, leads and their events."""
