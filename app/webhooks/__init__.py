"""Bounce and complaint webhooks from sending services: one module per provider, each
checking its provider's documented signature, and `views` serving them at /webhooks/<name>.

What a verified post reports goes on the suppression list (app.mail.suppression).
"""
