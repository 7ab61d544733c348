"""What one crawl run works with: the config, its source section, the store and the analyzer.

Built once per crawl by the spider from the ``FENGXIANG_CONFIG`` setting; the pipeline and the
outcome extension reach it through the spider, so the store is opened once and closed last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from fengxiang.analysis import analyzer_settings
from fengxiang.config import Config, SourceConfig, load_config
from nlp.analyzer import Analyzer
from store.base import Store
from store.open import open_store


class CrawlSetupError(Exception):
    """The crawl cannot start (no config, source not configured); the message says the fix."""


def load_crawl_config(path: str | None) -> Config:
    if not path:
        raise CrawlSetupError(
            "no config file given — run `fengxiang crawl`, or pass -s FENGXIANG_CONFIG=fengxiang.yaml to scrapy"
        )
    return load_config(Path(path))


@dataclass
class CrawlContext:
    config: Config
    platform: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def load(cls, config_path: str | None, platform: str) -> CrawlContext:
        return cls(load_crawl_config(config_path), platform)

    @property
    def source(self) -> SourceConfig:
        return self.config.sources.get(self.platform) or SourceConfig()

    @cached_property
    def store(self) -> Store:
        return open_store(self.config)

    @cached_property
    def analyzer(self) -> Analyzer:
        return Analyzer(analyzer_settings(self.config, self.store))

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
