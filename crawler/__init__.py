"""The Scrapy side: site definitions, the generic spider, extraction and the pipeline into the store.

It runs in a child process (`python -m crawler`) so the scheduler never imports Twisted.
"""
