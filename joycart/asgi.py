import os

from django.core.asgi import get_asgi_application

from joycart.serving import loaded_app_freeze

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joycart.settings")
application = get_asgi_application()
loaded_app_freeze()
