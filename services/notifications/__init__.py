"""The notifications service: who is told what about each event (inbox, SMS, WeChat)."""
