"""Collaboration pages: demands (board, demand page, raising one) in ``demands``; support-satisfaction surveys
(scheduling, answering, results) in ``surveys``. Each module owns its ``urlpatterns``."""
