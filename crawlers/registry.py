"""The platforms fengxiang can crawl: the spider name `scrapy crawl` runs for each."""

PLATFORMS: dict[str, str] = {
    "weibo": "微博 m.weibo.cn keyword search, long texts and hot comments",
}
