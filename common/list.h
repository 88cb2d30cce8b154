/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Intrusive doubly-linked lists, as systemd's basic/list.h: an item holds
 * LIST_FIELDS(type, name), the owner a pointer to the head.
 *
 *     struct Node { LIST_FIELDS(Node, nodes); … };
 *     LIST_HEAD(Node, nodes);
 *     LIST_PREPEND(nodes, head, n);  LIST_FOREACH(nodes, i, head) …  LIST_REMOVE(nodes, head, n);
 */

#define LIST_HEAD(t, name) t *name
#define LIST_FIELDS(t, name) t *name##_next, *name##_prev

#define LIST_INIT(name, item)                                           \
        do {                                                            \
                (item)->name##_next = (item)->name##_prev = NULL;       \
        } while (0)

#define LIST_PREPEND(name, head, item)                                  \
        do {                                                            \
                __typeof__(*(head)) **_head_ = &(head), *_item_ = (item); \
                if ((_item_->name##_next = *_head_))                    \
                        _item_->name##_next->name##_prev = _item_;      \
                _item_->name##_prev = NULL;                             \
                *_head_ = _item_;                                       \
        } while (0)

#define LIST_APPEND(name, head, item)                                   \
        do {                                                            \
                __typeof__(*(head)) **_head_ = &(head), *_item_ = (item), *_tail_ = *_head_; \
                while (_tail_ && _tail_->name##_next)                   \
                        _tail_ = _tail_->name##_next;                   \
                _item_->name##_next = NULL;                             \
                _item_->name##_prev = _tail_;                           \
                if (_tail_)                                             \
                        _tail_->name##_next = _item_;                   \
                else                                                    \
                        *_head_ = _item_;                               \
        } while (0)

/* After where, or first when where is NULL (an append with a kept tail). */
#define LIST_INSERT_AFTER(name, head, where, item)                      \
        do {                                                            \
                __typeof__(*(head)) **_head_ = &(head), *_where_ = (where), *_item_ = (item); \
                if ((_item_->name##_next = _where_ ? _where_->name##_next : *_head_)) \
                        _item_->name##_next->name##_prev = _item_;      \
                _item_->name##_prev = _where_;                          \
                if (_where_)                                            \
                        _where_->name##_next = _item_;                  \
                else                                                    \
                        *_head_ = _item_;                               \
        } while (0)

#define LIST_REMOVE(name, head, item)                                   \
        do {                                                            \
                __typeof__(*(head)) **_head_ = &(head), *_item_ = (item); \
                if (_item_->name##_next)                                \
                        _item_->name##_next->name##_prev = _item_->name##_prev; \
                if (_item_->name##_prev)                                \
                        _item_->name##_prev->name##_next = _item_->name##_next; \
                else if (*_head_ == _item_)                             \
                        *_head_ = _item_->name##_next;                  \
                _item_->name##_next = _item_->name##_prev = NULL;       \
        } while (0)

#define LIST_FOREACH(name, i, head) for (__typeof__(*(head)) *i = (head); i; i = i->name##_next)

/* Safe against removing i inside the loop. */
#define LIST_FOREACH_SAFE(name, i, n, head)                             \
        for (__typeof__(*(head)) *i = (head), *n = i ? i->name##_next : NULL; i; \
             i = n, n = i ? i->name##_next : NULL)
