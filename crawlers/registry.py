"""The platforms fengxiang can crawl: the spider name `scrapy crawl` runs for each."""

PLATFORMS: dict[str, str] = {
    "weibo": "微博 m.weibo.cn keyword search, long texts and hot comments",
    "bilibili": "哔哩哔哩 video search (WBI-signed), video stats and comments",
    "news": "新闻 RSS/Atom feeds, news sites' own search pages, and the articles they link to",
    "xiaohongshu": "小红书 note search, note details and comments (requests signed by the site's page in Chromium)",
    "zhihu": "知乎 search (answers, articles) and their comments (requests signed by the site's page in Chromium)",
}

# What a run's "pages" count (the fengxiang/pages stat) is, in the words of the crawl's summary line.
PAGE_UNITS: dict[str, str] = {
    "weibo": "search pages",
    "bilibili": "search pages",
    "news": "feeds and search pages",
    "xiaohongshu": "search pages",
    "zhihu": "search pages",
}

# Platforms whose requests are signed by the site's own page in the system Chromium.
BROWSER_PLATFORMS = frozenset({"xiaohongshu", "zhihu"})

# Platforms whose whole crawl is a search per watchlist term, so crawl workers can share it term by term
# (news reads feeds: one term's share would still read every feed).
SEARCH_PLATFORMS = frozenset(PLATFORMS) - {"news"}
