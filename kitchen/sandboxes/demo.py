"""The demo accounts `make run` registers in distribute and the sandboxes accept: two WeChat
official accounts and two Weibo accounts of the demo site tree's units."""

from __future__ import annotations

from typing import Any

# What distribute registers (`KITCHEN_DEMO_CHANNEL_ACCOUNTS`, JSON); `credentials` are what the
# sandbox accepts for the account.
DEMO_ACCOUNTS: list[dict[str, Any]] = [
    {
        "platform": "wechat",
        "name": "四川发布",
        "platform_account_id": "wxdemo0000000001",
        "app_id": "wxdemo0000000001",
        "unit": "四川省人民政府办公厅",
        "sites": ["province"],
        "default_columns": ["province/news"],
        "credentials": {
            "appid": "wxdemo0000000001",
            "secret": "demo-wechat-secret-1",
            "callback_token": "demo-callback-token-1",
        },
        "filing_number": "川公网新媒备 0001 号",
        "operator": "省政府办公厅新媒体科",
        "contact": "028-00000001",
    },
    {
        "platform": "wechat",
        "name": "成都发布",
        "platform_account_id": "wxdemo0000000002",
        "app_id": "wxdemo0000000002",
        "unit": "成都市人民政府办公厅",
        "sites": ["province", "city"],
        "default_columns": ["province/news"],
        "credentials": {
            "appid": "wxdemo0000000002",
            "secret": "demo-wechat-secret-2",
            "callback_token": "demo-callback-token-2",
        },
        "filing_number": "川公网新媒备 0002 号",
        "operator": "市政府办公厅新媒体科",
        "contact": "028-00000002",
    },
    {
        "platform": "weibo",
        "name": "四川发布微博",
        "platform_account_id": "5000000001",
        "app_id": "weibodemoapp",
        "unit": "四川省人民政府办公厅",
        "sites": ["province"],
        "default_columns": ["province/news"],
        "credentials": {"access_token": "demo-weibo-token-1"},
        "safe_domain": "gov.cn",
        "filing_number": "川公网新媒备 0003 号",
        "operator": "省政府办公厅新媒体科",
        "contact": "028-00000001",
    },
    {
        "platform": "weibo",
        "name": "成都发布微博",
        "platform_account_id": "5000000002",
        "app_id": "weibodemoapp",
        "unit": "成都市人民政府办公厅",
        "sites": ["province", "city"],
        "default_columns": ["province/news"],
        "credentials": {"access_token": "demo-weibo-token-2"},
        "safe_domain": "gov.cn",
        "filing_number": "川公网新媒备 0004 号",
        "operator": "市政府办公厅新媒体科",
        "contact": "028-00000002",
    },
]
