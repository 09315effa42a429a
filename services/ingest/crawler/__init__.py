"""Polite, incremental crawling of subordinate sites and feeds (网上抓取)."""
