"""What the scheduler calls: one cycle (crawl, select, compose, send), the crawl child it starts, and the scheduler."""
