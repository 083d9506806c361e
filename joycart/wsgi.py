import os

from django.core.wsgi import get_wsgi_application

from joycart.serving import loaded_app_freeze

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "joycart.settings")
application = get_wsgi_application()
loaded_app_freeze()
