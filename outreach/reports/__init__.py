"""What supervisors read: the contact log, crawl reports, outcome and template statistics, status, inspection."""
