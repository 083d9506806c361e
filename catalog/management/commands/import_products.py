"""`manage.py import_products --store <slug> FILE.csv`: the seller portal's CSV import, for operators."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Store
from catalog.errors import CsvImportFailed
from catalog.services.imports import IMPORT_STAGES, products_import_csv


class Command(BaseCommand):
    help = "Create and update a store's products from a CSV file: every line is imported, or none."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="the store's web name (slug)")
        parser.add_argument("file", type=Path, help="a UTF-8 CSV file in the seller portal's import format")

    def handle(self, *args, **options):
        store = Store.objects.filter(slug=options["store"]).first()
        if store is None:
            raise CommandError(f"No store has the slug {options['store']!r}.")
        try:
            file = options["file"].open("rb")
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}.") from exc

        with file, tqdm(total=len(IMPORT_STAGES), desc="Import", unit="stage", disable=None) as bar:

            def progress(stage: str) -> None:
                bar.set_postfix_str(f"{stage} done")
                bar.update(1)

            try:
                summary = products_import_csv(store=store, file=file, progress=progress)
            except CsvImportFailed as exc:
                bar.close()
                for line, message in exc.errors:
                    self.stderr.write(f"line {line}: {message}" if line else f"file: {message}")
                raise CommandError(f"Nothing imported: {len(exc.errors)} problem(s) in {options['file']}.") from exc

        self.stdout.write(
            self.style.SUCCESS(
                f"{store.name}: created {summary.created}, updated {summary.updated}, unchanged {summary.unchanged}."
            )
        )
        if summary.stock_ignored:
            self.stdout.write(
                f"The stock column was ignored for {summary.stock_ignored} existing variant(s); use add_stock."
            )
