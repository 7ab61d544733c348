"""Scrapy settings shared by every spider. Per-platform pace comes from the config file
(``sources.<platform>.politeness``), applied by :class:`crawlers.spiders.base.PlatformSpider`."""

BOT_NAME = "fengxiang"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# The config file the crawl reads its watchlist, source and store from; `fengxiang crawl` sets it.
FENGXIANG_CONFIG = None

# A phone browser, as the mobile sites expect; a bot name would be refused at once.
USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
DEFAULT_REQUEST_HEADERS = {
    "Accept": "application/json, text/plain, */*",
    "Accept-Language": "zh-CN,zh;q=0.9",
    "X-Requested-With": "XMLHttpRequest",
}
ROBOTSTXT_OBEY = False  # JSON endpoints of a logged-in app session, not pages for search engines
TELNETCONSOLE_ENABLED = False  # no debugging consoles or control servers on a 24×7 service
REMOTE_CONTROL_ENABLED = False
COOKIES_DEBUG = False  # never: cookie values are secrets
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"

# Politeness defaults for a real deployment (the config can change them per platform): one request
# at a time per host, about 3 s apart with ±50% jitter, and AutoThrottle to slow down further when
# the site answers slowly. Platforms rate-limit by account and by IP; this pace stays far below it.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 3.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 3.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30

# Errors worth another try; 418/432 (blocking) are handled by BlockingMiddleware with back-off instead.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

# Back-off when a platform says "too fast" (HTTP 418/432): the host's delay doubles from the base
# up to the max with every refusal; when refusals go on for FENGXIANG_THROTTLED_FOR seconds without
# one answer in between, the crawl stops and records why.
FENGXIANG_BACKOFF_BASE = 5.0
FENGXIANG_BACKOFF_MAX = 120.0
FENGXIANG_THROTTLED_FOR = 600.0

# Responses pass middlewares from the highest number down: blocking is recognised on the raw answer,
# then the JSON is read, both before RetryMiddleware (550).
# Requests pass from the lowest number up: the shared rate limit goes last, right before the download.
DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.BlockingMiddleware": 580,
    "crawlers.middlewares.JsonAnswerMiddleware": 570,
    "crawlers.middlewares.SharedRateLimitMiddleware": 950,
}
ITEM_PIPELINES = {"crawlers.pipelines.AnalyzeAndStorePipeline": 300}
# The pipeline is synchronous (it batches), so items gain nothing from running concurrently, while
# Scrapy starts one asyncio task per allowed concurrent item for every response: 100 by default.
CONCURRENT_ITEMS = 1
# Scrapy re-parses a callback's source on every call to warn about `return` in generators; our
# callbacks are checked by the tests, and the parsing cost a tenth of the crawl's time.
WARN_ON_GENERATOR_RETURN_VALUE = False
EXTENSIONS = {"crawlers.outcome.CrawlOutcome": 500}

LOG_LEVEL = "INFO"
